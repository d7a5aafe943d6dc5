#!/usr/bin/env bash
# Records the Python of the engine venv for commands run with any ALTREPODB_HOME (another data
# set): they look here when their home has no venv of its own (crates/db/src/engine_python.rs).
# Usage: record-engine.sh VENV_DIR   (called by scripts/setup.sh)
set -euo pipefail
python="$(cd "$1/bin" && pwd)/python"
[ -x "$python" ] || { echo "record-engine: no $python" >&2; exit 1; }
record="${XDG_CONFIG_HOME:-$HOME/.config}/altrepodb/engine-python"
if [ "$(cat "$record" 2>/dev/null)" != "$python" ]; then
  mkdir -p "$(dirname "$record")"
  printf '%s\n' "$python" > "$record.tmp.$$"
  mv -f "$record.tmp.$$" "$record"
  echo "setup: recorded the engine in $record"
fi

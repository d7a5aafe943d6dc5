#!/usr/bin/env bash
# Installs everything altrepodb needs, idempotently; quick when nothing changed.
#   1. Debian packages (rpm for the RPM cross-checks, xz-utils, cpio; db5.3-util for the Berkeley DB
#      rpmdb test inputs; RabbitMQ for the daemon tests; e2fsprogs, squashfs-tools, genisoimage
#      (with mkzftree), xorriso, fdisk (sfdisk) and qemu-utils (qemu-img), whose output the image
#      tests compare with);
#   2. the Python venv with the pinned ClickHouse engine (chdb-core) under $ALTREPODB_HOME/venv,
#      recorded in ~/.config/altrepodb/engine-python so that any other home finds it;
#   3. the release build, installed as `altrepodb` plus the original tool names as links.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${ALTREPODB_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/altrepodb}
say() { printf 'setup: %s\n' "$*"; }

# --- 1. system packages ---------------------------------------------------------------------
apt_packages=(rpm cpio xz-utils zstd time python3-venv rabbitmq-server db5.3-util
  e2fsprogs squashfs-tools genisoimage xorriso fdisk qemu-utils)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. Python venv with the ClickHouse engine ----------------------------------------------
# --no-deps: the server needs only the engine, lz4 and cityhash (not pandas/pyarrow).
requirements="chdb-core==26.9.0 lz4==4.4.5 clickhouse-cityhash==1.0.2.6"
venv="$home/venv"
stamp="$venv/.altrepodb-requirements"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$requirements" ] \
   || ! "$venv/bin/python" -c 'import chdb, lz4, clickhouse_cityhash' 2>/dev/null; then
  say "creating the Python venv at $venv ($requirements)"
  mkdir -p "$home"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps $requirements
  echo "$requirements" > "$stamp"
fi
"$here/scripts/lib/record-engine.sh" "$venv"

# --- 3. release build and installation ------------------------------------------------------
say "building (cargo build --release)"
(cd "$here" && cargo build --release --workspace --quiet)
if [ -n "${ALTREPODB_BIN:-}" ]; then bindir=$ALTREPODB_BIN
elif [ -w /usr/local/bin ]; then bindir=/usr/local/bin
else bindir=$HOME/.local/bin; fi
mkdir -p "$bindir"
if ! cmp -s "$here/target/release/altrepodb" "$bindir/altrepodb"; then
  install -m 0755 "$here/target/release/altrepodb" "$bindir/altrepodb.new"
  mv -f "$bindir/altrepodb.new" "$bindir/altrepodb"
fi
for alias in $("$bindir/altrepodb" aliases); do
  [ "$(readlink "$bindir/$alias" 2>/dev/null)" = altrepodb ] || ln -sfn altrepodb "$bindir/$alias"
done
case ":$PATH:" in *":$bindir:"*) ;; *) say "note: add $bindir to PATH";; esac
say "ready: $bindir/altrepodb ($("$bindir/altrepodb" --version)), engine venv $venv"

#!/usr/bin/env bash
# repo_loader benchmark (one command): generates a snapshot of N source packages and its next
# day (2% changed), then measures in the same run
#   (a) the floor: reading every RPM's header bytes once,
#   (b) the initial load into an empty embedded database,
#   (c) the next-day load,
# and prints times, packages/s, rows/s, peak RSS and the (b)/(a), (c)/(a) ratios.
# Usage: scripts/bench-repo.sh [SOURCES]   (default 5000; generated data is cached in $BENCH_DIR;
# ALTREPODB_BIN=PATH measures another build, e.g. an installed one, for before/after numbers)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sources=${1:-5000}
work=${BENCH_DIR:-/tmp/altrepodb-bench}
bin=${ALTREPODB_BIN:-$here/target/release/altrepodb}
export TZ=UTC
if [ -z "${ALTREPODB_BIN:-}" ]; then (cd "$here" && cargo build --release --quiet -p altrepodb); fi
mkdir -p "$work"
day1=$work/day1-$sources day2=$work/day2-$sources
if [ ! -f "$day1/manifest.json" ]; then
  echo "generating $sources sources into $day1"
  rm -rf "$day1"; /usr/bin/time -f "generated day 1 in %e s" "$bin" testdata repo --out "$day1" --sources "$sources" --seed 1
fi
if [ ! -f "$day2/manifest.json" ]; then
  rm -rf "$day2"; /usr/bin/time -f "generated day 2 in %e s" "$bin" testdata repo --out "$day2" --next-day-of "$day1" --change-percent 2 --seed 2
fi
export ALTREPODB_HOME=$work/home
# A server left idling by the previous run would keep serving the data removed here.
if [ -f "$ALTREPODB_HOME/server.pid" ]; then kill "$(cat "$ALTREPODB_HOME/server.pid")" 2>/dev/null || true; sleep 1; fi
rm -rf "$ALTREPODB_HOME/data"
"$bin" db init >/dev/null

# (a) floor
floor=$("$bin" bench read-headers "$day1")
floor_s=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$floor")
headers=$(sed -E 's/headers=([0-9]+).*/\1/' <<<"$floor")

run() { # label dir date
  # The flush log line gives the price of durability (Buffers flushed before the root row).
  RUST_LOG=warn,altrepodb_db::flush=debug /usr/bin/time -f "%e %M" -o "$work/time.txt" \
    "$bin" repo load bench "$2" --date "$3" > "$work/$1.out" 2> "$work/$1.err"
  read -r secs rss_kb < "$work/time.txt"
  flush_s=$(grep -o 'flushed Buffers in [0-9.]* s' "$work/$1.err" | awk '{s += $4} END {printf "%.2f", s}')
  echo "$secs $rss_kb $flush_s $(tail -1 "$work/$1.out")"
}
read -r b_s b_rss b_flush b_sum < <(run initial "$day1" 2024-03-01)
read -r c_s c_rss c_flush c_sum < <(run nextday "$day2" 2024-03-02)
server_hwm=$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$ALTREPODB_HOME/server.pid")/status" 2>/dev/null || echo 0)
rows=$("$bin" sql "SELECT (SELECT count() FROM Packages_buffer) + (SELECT count() FROM Files_buffer) + (SELECT count() FROM Depends_buffer) + (SELECT count() FROM Changelog_buffer) + (SELECT count() FROM PackageHash_buffer) + (SELECT count() FROM PackageSet_buffer)" --format tsv)
pkgs=$("$bin" sql "SELECT count() FROM Packages_buffer" --format tsv)
files=$("$bin" sql "SELECT count() FROM Files_buffer" --format tsv)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
echo
echo "repo_loader benchmark: $sources sources, $pkgs packages, $files files, $rows rows ($(nproc) cores)"
printf '%-28s %10s %14s %14s %12s\n' phase seconds packages/s rows/s "peak RSS"
printf '%-28s %10s %14s %14s %12s\n' "(a) floor: read headers" "$floor_s" "$(ratio "$headers" "$floor_s")" - -
printf '%-28s %10s %14s %14s %10s MB\n' "(b) initial load" "$b_s" "$(ratio "$pkgs" "$b_s")" "$(ratio "$rows" "$b_s")" "$((b_rss / 1024))"
printf '%-28s %10s %14s %14s %10s MB\n' "(c) next-day load (2%)" "$c_s" - - "$((c_rss / 1024))"
echo "embedded server peak RSS: $((server_hwm / 1024)) MB"
echo "ratios: (b)/(a) = $(ratio "$b_s" "$floor_s"), (c)/(a) = $(ratio "$c_s" "$floor_s")"
echo "of which flushing Buffers before the root row (durability): (b) $b_flush s, (c) $c_flush s"
echo "initial: $b_sum"
echo "next day: $c_sum"

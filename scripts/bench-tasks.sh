#!/usr/bin/env bash
# task_loader benchmark (one command): N generated tasks (default 1000; mixed states, 1-6
# subtasks, 2-4 arches; cached in $BENCH_DIR) measured in the same run:
#   (floor) reading every file of every task once (warm cache),
#   (a) one `altrepodb task load DIR` process per task, as the original was run: first load
#       into an empty embedded database, then the reload of every task (all loaded),
#   (b) one bulk run `altrepodb task load --all ROOT` into another empty database: first load,
#       then the reload,
# and prints seconds, tasks/s, ms per task and the ratio to the floor, and the client-side
# round trips per task (-D).
# Usage: scripts/bench-tasks.sh [TASKS]   (BENCH_PER_PROCESS=K runs (a) on the first K tasks only)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-1000}
work=${BENCH_DIR:-/tmp/altrepodb-task-bench}
bin=${ALTREPODB_BIN:-$here/target/release/altrepodb}
export TZ=UTC ALTREPODB_EMBEDDED_IDLE_EXIT=600
if [ -z "${ALTREPODB_BIN:-}" ]; then (cd "$here" && cargo build --release --quiet -p altrepodb); fi
root=$work/mixed-$n
if [ ! -f "$root/.complete" ]; then
  echo "generating $n tasks into $root"
  rm -rf "$root"; mkdir -p "$root"
  start=$(date +%s.%N)
  # 18 groups: subtasks 1..6 x arches {2, 3, 4}; states cycle within each group.
  groups=18 id=600000 g=0
  for subtasks in 1 2 3 4 5 6; do
    for arches in x86_64,i586 x86_64,i586,aarch64 x86_64,i586,aarch64,ppc64le; do
      count=$(( n / groups + (g < n % groups ? 1 : 0) ))
      if [ "$count" -gt 0 ]; then
        "$bin" testdata task --out "$root" --id "$id" --count "$count" --subtasks "$subtasks" \
          --arches "$arches" --seed "$id" > /dev/null
      fi
      id=$((id + count)); g=$((g + 1))
    done
  done
  rm -f "$root"/*.json
  touch "$root/.complete"
  echo "generated in $(echo "$(date +%s.%N) - $start" | bc) s"
fi
mapfile -t dirs < <(ls "$root" | sort -n | sed "s|^|$root/|")
k=${BENCH_PER_PROCESS:-$n}
dirs_a=("${dirs[@]:0:$k}")
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }

# Floor: read every file once (warm cache: read twice, time the second).
find "$root" -type f -exec cat {} + > /dev/null
t=$(now); find "$root" -type f -exec cat {} + > /dev/null; floor=$(since "$t")
bytes=$(du -sb "$root" | cut -f1)

fresh() { # home
  export ALTREPODB_HOME=$1
  if [ -f "$1/server.pid" ]; then kill "$(cat "$1/server.pid")" 2>/dev/null || true; sleep 1; fi
  rm -rf "$1"; mkdir -p "$1"
  "$bin" db init > /dev/null
}
per_process() { # label; the first process runs with -D for its round trips
  local t fails=0 first=1; t=$(now)
  for d in "${dirs_a[@]}"; do
    if [ $first = 1 ]; then
      "$bin" task load -D "$d" > "$work/$1.first" 2>> "$work/$1.err" || fails=$((fails + 1)); first=0
    else
      "$bin" task load "$d" > /dev/null 2>> "$work/$1.err" || fails=$((fails + 1))
    fi
  done
  echo "$(since "$t") $fails $(sed -nE 's/^round trips: ([0-9]+).*/\1/p' "$work/$1.first")"
}
fresh "$work/home-a"
: > "$work/a1.err"; : > "$work/a2.err"
read -r a1 a1f a1t < <(per_process a1)
read -r a2 a2f a2t < <(per_process a2)
kill "$(cat "$ALTREPODB_HOME/server.pid")" 2>/dev/null || true

fresh "$work/home-b"
t=$(now); "$bin" task load -D --all "$root" > "$work/b1.out" 2> "$work/b1.err" || true; b1=$(since "$t")
t=$(now); "$bin" task load -D --all "$root" > "$work/b2.out" 2> "$work/b2.err" || true; b2=$(since "$t")
states=$("$bin" sql "SELECT count() FROM TaskStates" --format tsv)
kill "$(cat "$ALTREPODB_HOME/server.pid")" 2>/dev/null || true

r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
ms() { awk -v a="$1" -v n="${2:-$n}" 'BEGIN { printf "%.1f", 1000 * a / n }'; }
trips() { sed -nE 's/^round trips: ([0-9]+) \(([0-9.]+) per task.*/\2/p' "$1"; }
echo
echo "task_loader benchmark: $n tasks ((a): the first $k), $(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of files, $(nproc) cores; bulk: $states states stored"
printf '%-40s %9s %9s %9s %9s %12s\n' phase seconds tasks/s ms/task "x floor" "trips/task"
printf '%-40s %9.2f %9s %9s %9s %12s\n' "(floor) read every task file" "$floor" "$(r "$n" "$floor")" "$(ms "$floor")" 1.0 -
printf '%-40s %9.2f %9s %9s %9s %12s\n' "(a) one process per task, first load" "$a1" "$(r "$k" "$a1")" "$(ms "$a1" "$k")" "$(r "$(ms "$a1" "$k")" "$(ms "$floor")")" "${a1t:-?}"
printf '%-40s %9.2f %9s %9s %9s %12s\n' "(a) one process per task, reload" "$a2" "$(r "$k" "$a2")" "$(ms "$a2" "$k")" "$(r "$(ms "$a2" "$k")" "$(ms "$floor")")" "${a2t:-?}"
printf '%-40s %9.2f %9s %9s %9s %12s\n' "(b) bulk --all, first load" "$b1" "$(r "$n" "$b1")" "$(ms "$b1")" "$(r "$b1" "$floor")" "$(trips "$work/b1.out")"
printf '%-40s %9.2f %9s %9s %9s %12s\n' "(b) bulk --all, reload" "$b2" "$(r "$n" "$b2")" "$(ms "$b2")" "$(r "$b2" "$floor")" "$(trips "$work/b2.out")"
echo "failed: (a) $a1f + $a2f processes; (b) $(grep -c 'failed (' "$work/b1.err" || true) + $(grep -c 'failed (' "$work/b2.err" || true) tasks"
echo "(b) first load: $(grep -v '^round trips' "$work/b1.out" | tail -1)"

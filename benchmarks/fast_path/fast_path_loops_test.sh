#!/usr/bin/env bash
# fast_path_loops gives a time for every row under the system malloc, the floor library and
# rseqmalloc (both rseq modes), reaches the sized free each one has, and pins itself to one CPU.
# Times are not judged here (the runner's table does that); only that they exist and are sane.
#   $1 = fast_path_loops  $2 = libfloor_malloc.so  $3 = librseqmalloc.so
set -uo pipefail
loops="$PWD/$1" floor="$PWD/$2" rseqmalloc="$PWD/$3"
failures=0
check() {  # mode, preload, tunables, expected sized free
  local mode=$1 preload=$2 tunables=$3 sized=$4 out rows
  out=$(LD_PRELOAD="$preload" GLIBC_TUNABLES="$tunables" "$loops" --pairs 20000 --repetitions 3 2>&1)
  rows=$(grep -cE '^ROW name=[a-z0-9_]+ ns=[0-9]+\.[0-9]+ via=' <<<"$out")
  local expected_rows=7
  [[ "$sized" == none ]] && expected_rows=6
  if ! grep -q '^RESULT .*cpu=[0-9]* check=ok' <<<"$out" || ((rows != expected_rows)) ||
     ! grep -q "^ROW name=free_sized64 .* via=$sized\$" <<<"$out"; then
    echo "FAIL under $mode: $out"
    failures=$((failures + 1))
  else
    echo "ok: $mode, $rows rows, sized free via $sized"
  fi
}
check system "" "" none
check floor "$floor" "" free_sized
check rseqmalloc "$rseqmalloc" "" free_sized
check rseqmalloc-own "$rseqmalloc" "glibc.pthread.rseq=0" free_sized
# A bad argument is refused, not ignored.
if "$loops" --pairs 10 >/dev/null 2>&1; then
  echo "FAIL: --pairs 10 accepted"
  failures=$((failures + 1))
fi
echo "$failures failures"
((failures == 0))

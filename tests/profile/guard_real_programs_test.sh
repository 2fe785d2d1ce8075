#!/usr/bin/env bash
# Guarded sampling at its default rate in real programs under LD_PRELOAD: Debian's sqlite3 runs
# the reliability suite's workload with RSEQMALLOC_GUARD=1, gives the same output as without
# rseqmalloc, really guards some objects, and takes about as long (CPU time, with a wide margin
# for a loaded 2-core machine); and a subset of Python's own test suite passes.
set -euo pipefail
lib="$(realpath "$1")" workload="$(realpath "$2")"
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 missing (tools/bootstrap.sh reliability)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# cpu_ms <output> <command...>: runs the command, prints its user+system CPU milliseconds.
cpu_ms() {
  local out=$1 TIMEFORMAT='%U %S'
  shift
  { time "$@" <"$workload" >"$out" 2>"$out.err"; } 2>"$out.time"
  awk '{ printf "%d\n", ($1 + $2) * 1000 }' "$out.time"
}

plain=$(cpu_ms "$work/plain.out" sqlite3 "$work/plain.db")
guarded=$(cpu_ms "$work/guarded.out" env RSEQMALLOC_GUARD=1 RSEQMALLOC_STATS_AT_EXIT=1 \
  LD_PRELOAD="$lib" sqlite3 "$work/guarded.db")
echo "CPU time: system malloc $plain ms, rseqmalloc with guarded sampling $guarded ms"
grep -E '^rseqmalloc: (profile|guard)\.' "$work/guarded.out.err"

cmp "$work/plain.out" "$work/guarded.out" || { echo "FAIL: the output differs"; exit 1; }
if grep -q 'heap error' "$work/guarded.out.err"; then
  echo "FAIL: a heap error was reported"; cat "$work/guarded.out.err"; exit 1
fi
guarded_objects=$(awk '/^rseqmalloc: guard.allocations / { print $3 }' "$work/guarded.out.err")
((guarded_objects > 0)) || { echo "FAIL: no object was guarded"; exit 1; }
# Within noise: allow twice the time plus a second on a machine shared with other jobs.
((guarded <= 2 * plain + 1000)) || { echo "FAIL: guarded run far slower"; exit 1; }
echo "ok   sqlite3"

# Python's test suite (package libpython3.11-testsuite, tools/bootstrap.sh reliability).
python=/usr/bin/python3.11
if [[ ! -e /usr/lib/python3.11/test/test_re.py ]]; then
  echo "SKIP python3 subset: libpython3.11-testsuite is not installed (tools/bootstrap.sh reliability)"
  exit 0
fi
RSEQMALLOC_GUARD=1 RSEQMALLOC_STATS_AT_EXIT=1 LD_PRELOAD="$lib" "$python" -m test test_re test_dict test_set \
  >"$work/python.out" 2>&1 || { echo "FAIL: python3 tests"; grep -v "^rseqmalloc: " "$work/python.out" | tail -30; exit 1; }
grep -q 'heap error' "$work/python.out" && { echo "FAIL: a heap error was reported"; exit 1; }
grep -E '^(Total tests|Result)|tests OK' "$work/python.out"
echo "ok   python3 test_re test_dict test_set"


#!/usr/bin/env bash
# Guarded sampling forced to 100 %: each kind of heap bug is caught where it happens, reported in
# one block (what, size, allocating and freeing stacks), and the process then dies of the
# original signal. And a correct program runs normally with every object guarded.
set -euo pipefail
program="$(realpath "$1")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export RSEQMALLOC_GUARD=1 RSEQMALLOC_GUARD_PERCENT=100 RSEQMALLOC_PROFILE_SAMPLE_BYTES=1
failures=0

fail() {
  echo "FAIL $1: $2"
  sed 's/^/    /' "$work/err"
  failures=$((failures + 1))
}

# run <kind> <expected signal number> <expected lines (grep -E patterns)...>
run() {
  local kind=$1 signal=$2 status=0
  shift 2
  RSEQMALLOC_GUARD_MAX=8 "$program" "$kind" >"$work/out" 2>"$work/err" || status=$?
  if ((status != 128 + signal)); then
    fail "$kind" "exit status $status, expected death by signal $signal"
    return
  fi
  for pattern in "$@"; do
    grep -Eq "$pattern" "$work/err" || { fail "$kind" "no line matching '$pattern'"; return; }
  done
  # One block: the report's lines are contiguous, from the heading to the closing line.
  local first last
  first=$(grep -n '==== heap error' "$work/err" | head -1 | cut -d: -f1)
  last=$(grep -n '==== end of report' "$work/err" | tail -1 | cut -d: -f1)
  if [[ -z "$first" || -z "$last" ]] || (( last - first + 1 != $(sed -n "${first},${last}p" "$work/err" | grep -c '^rseqmalloc: ') )); then
    fail "$kind" "the report is not one block"
    return
  fi
  echo "ok   $kind"
  sed 's/^/    /' "$work/err"
}

run use_after_free 11 \
  '==== heap error: use after free ====' \
  'access at 0x[0-9a-f]+, 8 bytes from the start of a freed object' \
  'object: 64 bytes at 0x' \
  'allocated by:' '#0 0x[0-9a-f]+ AllocateVictim\+' \
  'freed by:' '#0 0x[0-9a-f]+ FreeVictim\+' \
  'end of report: SIGSEGV follows'
run overflow 11 \
  '==== heap error: buffer overflow ====' \
  'access at 0x[0-9a-f]+, 0 bytes past the end of the object' \
  'object: 64 bytes at 0x' \
  'allocated by:' '#0 0x[0-9a-f]+ AllocateVictim\+' \
  'end of report: SIGSEGV follows'
run double_free 6 \
  '==== heap error: double free ====' \
  'object: 64 bytes at 0x' \
  'allocated by:' '#0 0x[0-9a-f]+ AllocateVictim\+' \
  'freed by:' '#0 0x[0-9a-f]+ FreeVictim\+' \
  'second free by:' \
  'end of report: SIGABRT follows'

if RSEQMALLOC_GUARD_MAX=8 "$program" clean >"$work/out" 2>"$work/err"; then
  echo "ok   clean: $(cat "$work/out")"
else
  fail clean "a correct program failed with every object guarded"
fi
exit $((failures > 0))

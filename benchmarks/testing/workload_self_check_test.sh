#!/usr/bin/env bash
# Every workload passes its own checks under the system malloc and under rseqmalloc (both rseq
# registration modes), and fails
# (non-zero exit) under an allocator that corrupts live memory: the checks can catch a broken
# allocator.
#   $1 = libscribbling_malloc.so  $2 = librseqmalloc.so  $3... = workload binaries
set -uo pipefail
scribbler="$PWD/$1"
rseqmalloc="$PWD/$2"
shift 2
failures=0
for workload in "$@"; do
  name=$(basename "$workload")
  # The system malloc, rseqmalloc in its default mode, rseqmalloc with its own rseq registration.
  for mode in system rseqmalloc rseqmalloc-own; do
    preload="" tunables="${GLIBC_TUNABLES:-}"
    [[ "$mode" != system ]] && preload="$rseqmalloc"
    [[ "$mode" == rseqmalloc-own ]] && tunables="glibc.pthread.rseq=0"
    out=$(LD_PRELOAD="$preload" GLIBC_TUNABLES="$tunables" \
          "$workload" --threads 2 --scale 0.05 --idle 0 2>&1)
    status=$?
    if ((status != 0)) || ! grep -q "^RESULT workload=$name .*check=ok" <<<"$out"; then
      echo "FAIL: $name under $mode (exit $status): $out"
      failures=$((failures + 1))
    fi
  done
  # large_blocks makes a dozen allocations at this scale: scribble on every third.
  every=997
  [[ "$name" == large_blocks ]] && every=3
  out=$(SCRIBBLE_EVERY=$every LD_PRELOAD="$scribbler" "$workload" --threads 2 --scale 0.05 --idle 0 2>&1)
  status=$?
  if ((status == 0)); then
    echo "FAIL: $name passed under the scribbling allocator: $out"
    failures=$((failures + 1))
  else
    echo "ok: $name fails under the scribbling allocator (exit $status): $(grep -m1 -E '^RESULT|check failed' <<<"$out")"
  fi
done
echo "$failures failures"
((failures == 0))

#!/usr/bin/env bash
# Runs a test binary in one of the allocator's rseq modes, set through the environment:
#   glibc_rseq  glibc registers rseq and rseqmalloc uses glibc's area (the default)
#   own_rseq    GLIBC_TUNABLES=glibc.pthread.rseq=0: nobody registers, rseqmalloc registers its own
#   no_rseq     RSEQMALLOC_RSEQ=off: rseqmalloc's fallback front end, no rseq at all
# Usage: run_in_mode.sh MODE BINARY [ARGS...]
set -euo pipefail
mode="$1"
binary="$2"
shift 2
unset RSEQMALLOC_RSEQ GLIBC_TUNABLES
case "$mode" in
  glibc_rseq) ;;
  own_rseq) export GLIBC_TUNABLES=glibc.pthread.rseq=0 ;;
  no_rseq) export RSEQMALLOC_RSEQ=off ;;
  *) echo "run_in_mode: unknown mode '$mode' (glibc_rseq, own_rseq, no_rseq)" >&2; exit 2 ;;
esac
exec "$binary" "$@"

#!/bin/sh
# Runs a test binary in one rseq mode.
#   run_in_mode.sh MODE KEY SECCOMP_TOOL BINARY [ARGS...]
# MODE: glibc (glibc registers, the default), own (glibc told not to register, we do),
#       blocked (rseq() fails with ENOSYS via seccomp), off (rseq not used at all),
#       nomembarrier (glibc registers, membarrier() fails: fences take the affinity fallback).
# KEY:  auto | mm_cid | cpu_id.
# Both layers are told: the rseq layer's tests read RSEQ_TEST_*, the allocator reads its
# own configuration (RSEQMALLOC_SLOT_KEY, RSEQMALLOC_RSEQ); the harness's own variables are
# RSEQ_TEST_* (not RSEQMALLOC_*, which the allocator would warn about). RSEQ_TEST_EXPECT_OWNER says
# which registration owner the test must find, so a test can prove it reached its mode.
set -eu
mode=$1 key=$2 seccomp=$3
shift 3
unset GLIBC_TUNABLES RSEQMALLOC_RSEQ RSEQMALLOC_SLOT_KEY
export RSEQ_TEST_KEY="$key"
case "$key" in
  mm_cid|cpu_id) export RSEQMALLOC_SLOT_KEY="$key" ;;
esac
case "$mode" in
  glibc)   export RSEQ_TEST_EXPECT_OWNER=glibc; exec "$@" ;;
  own)     export RSEQ_TEST_EXPECT_OWNER=own GLIBC_TUNABLES=glibc.pthread.rseq=0; exec "$@" ;;
  blocked) export RSEQ_TEST_EXPECT_OWNER=none; exec "$seccomp" "$@" ;;
  nomembarrier)
           export RSEQ_TEST_EXPECT_OWNER=glibc RSEQ_TEST_EXPECT_FENCE=affinity
           exec "$seccomp" --membarrier "$@" ;;
  off)     export RSEQ_TEST_EXPECT_OWNER=none RSEQ_TEST_KEY=off RSEQMALLOC_RSEQ=off
           exec "$@" ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac

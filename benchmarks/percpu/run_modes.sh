#!/bin/sh
# Runs the per-CPU slab benchmark in each rseq mode and prints the median of the repetitions.
#   bazel run //benchmarks/percpu:run_modes [-- EXTRA_BENCHMARK_FLAGS]
# or, outside Bazel: benchmarks/percpu/run_modes.sh BENCHMARK_BINARY SECCOMP_TOOL [FLAGS]
set -eu
if [ -n "${RUNFILES_DIR:-}" ] || [ -d "$0.runfiles" ]; then
  r="${RUNFILES_DIR:-$0.runfiles}/rseqmalloc"
  bench="$r/benchmarks/percpu/per_cpu_slab_benchmark"
  seccomp="$r/tests/modes/seccomp_no_rseq"
else
  bench=$1 seccomp=$2
  shift 2
fi
flags="--benchmark_repetitions=${REPS:-5} --benchmark_report_aggregates_only=true"
for key in mm_cid cpu_id; do
  echo "=== glibc $key"
  RSEQ_TEST_KEY=$key "$bench" $flags "$@" 2>&1 | grep -E 'rseq_status|_median'
  echo "=== own $key"
  GLIBC_TUNABLES=glibc.pthread.rseq=0 RSEQ_TEST_KEY=$key "$bench" $flags "$@" 2>&1 | grep -E 'rseq_status|_median'
done
echo "=== blocked"
"$seccomp" "$bench" $flags "$@" 2>&1 | grep -E 'rseq_status|_median'

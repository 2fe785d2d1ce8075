// The command line every workload program takes: thread count, amount of work, idle period.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_OPTIONS_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_OPTIONS_H_

#include <cstdint>

namespace rseqmalloc {
namespace bench {

struct WorkloadOptions {
  int threads = 2;
  // Multiplies the amount of work; 1.0 is sized for about one to two seconds with glibc on a
  // small machine. Work is fixed (not time-boxed) so that wall time compares allocators.
  double scale = 1.0;
  // Idle period for workloads that measure what happens while nothing runs (memory return).
  double idle_seconds = 1.0;
};

// Parses --threads N, --scale X, --idle S (and --help). Exits with status 2 on bad input.
WorkloadOptions ParseWorkloadOptions(int argc, char** argv, const char* name,
                                     const char* description);

// Scales a base amount of work, never below `minimum`.
uint64_t ScaledCount(const WorkloadOptions& options, double base, uint64_t minimum = 1);

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_OPTIONS_H_

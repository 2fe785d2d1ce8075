// The loop behind cache-scratch and cache-thrash: threads that each allocate small objects, write
// to them many times and free them. If the allocator hands two threads objects on the same cache
// line, every write bounces the line between cores and the run slows down many times over.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_FALSE_SHARING_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_FALSE_SHARING_H_

#include "benchmarks/workloads/workload_options.h"

namespace rseqmalloc {
namespace bench {

enum class FalseSharingKind {
  // cache-thrash: threads allocate on their own; only the allocator can put them on one line.
  kActive,
  // cache-scratch: the main thread allocates one object per thread back to back (so they share
  // lines), each thread frees its object first; an allocator that recycles that object for the
  // freeing thread keeps the threads on one line for the whole run.
  kPassive,
};

// Runs the workload and returns the process exit status.
int RunFalseSharing(FalseSharingKind kind, const char* name, const WorkloadOptions& options);

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_FALSE_SHARING_H_

// The one line a workload prints for the comparison runner, and what it measures of itself.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_RESULT_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_RESULT_H_

#include <cstdint>
#include <string>

#include "benchmarks/workloads/check_log.h"
#include "benchmarks/workloads/workload_options.h"

namespace rseqmalloc {
namespace bench {

// Prints "RESULT workload=<name> threads=<n> ops=<ops> check=ok|FAILED failures=<n> <extra>"
// on stdout and returns the process exit status (0 only when every check passed).
int FinishWorkload(const char* name, const WorkloadOptions& options, uint64_t ops,
                   const CheckLog& log, const std::string& extra = std::string());

// Resident set size of this process now, in KiB, from /proc/self/statm.
uint64_t CurrentRssKib();

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_RESULT_H_

// Failed self-checks of a workload, counted across its threads.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_CHECK_LOG_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_CHECK_LOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "benchmarks/workloads/object_stamp.h"

namespace rseqmalloc {
namespace bench {

// Counts failed checks across threads and keeps the first few messages for the report.
class CheckLog {
 public:
  void Fail(const char* workload_step, size_t size);
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> failures_{0};
};

// Checks the stamp, recording a failure; returns whether it was intact.
bool VerifyStamp(CheckLog& log, const void* object, size_t size, uint64_t tag, const char* step);

// Allocates `size` bytes (as AllocateOrFail) and stamps them with `tag`.
StampedObject AllocateStamped(CheckLog& log, size_t size, uint64_t tag);

// Checks a stamped object's stamp (as VerifyStamp) and frees it.
void VerifyAndFree(CheckLog& log, const StampedObject& object, const char* step);

// malloc that reports a null result as a failed check and exits with status 1 (a workload
// cannot go on without its memory, and a null return is an allocator failure here).
void* AllocateOrFail(CheckLog& log, size_t size);

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_CHECK_LOG_H_

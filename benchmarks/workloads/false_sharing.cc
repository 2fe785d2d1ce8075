#include "benchmarks/workloads/false_sharing.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "benchmarks/workloads/check_log.h"
#include "benchmarks/workloads/thread_group.h"
#include "benchmarks/workloads/workload_result.h"

namespace rseqmalloc {
namespace bench {
namespace {

constexpr size_t kObjectSize = 8;
constexpr int kWritesPerByte = 400;

// Writes every byte of the object kWritesPerByte times through a volatile pointer (so the stores
// really happen); returns the value every byte must then hold.
unsigned char WriteRepeatedly(void* object, unsigned char seed) {
  volatile unsigned char* bytes = static_cast<volatile unsigned char*>(object);
  for (size_t i = 0; i < kObjectSize; ++i) bytes[i] = seed;
  for (int w = 0; w < kWritesPerByte; ++w) {
    for (size_t i = 0; i < kObjectSize; ++i) bytes[i] = bytes[i] + 1;
  }
  return static_cast<unsigned char>(seed + kWritesPerByte);
}

bool Holds(const void* object, unsigned char expected) {
  const volatile unsigned char* bytes = static_cast<const volatile unsigned char*>(object);
  for (size_t i = 0; i < kObjectSize; ++i) {
    if (bytes[i] != expected) return false;
  }
  return true;
}

// Each object is checked after the next one has been allocated, so the check also catches an
// allocator that hands out the live object again or writes into it, even when the threads happen
// not to run at the same time.
void Worker(CheckLog& log, void* handed_over, uint64_t iterations, int thread_index) {
  if (handed_over != nullptr) std::free(handed_over);
  void* current = AllocateOrFail(log, kObjectSize);
  for (uint64_t i = 0; i < iterations; ++i) {
    unsigned char expected = WriteRepeatedly(current, static_cast<unsigned char>(thread_index + i));
    void* next = AllocateOrFail(log, kObjectSize);
    if (!Holds(current, expected)) {
      log.Fail("false sharing: object changed by someone else", kObjectSize);
    }
    std::free(current);
    current = next;
  }
  std::free(current);
}

}  // namespace

int RunFalseSharing(FalseSharingKind kind, const char* name, const WorkloadOptions& options) {
  const int threads = options.threads;
  // Total work is fixed: with more threads each does less, so an allocator that avoids false
  // sharing finishes in about the same time at any thread count on enough cores.
  const uint64_t total_iterations = ScaledCount(options, 4e5, threads);
  const uint64_t per_thread = total_iterations / threads;
  CheckLog log;

  std::vector<void*> handed_over(threads, nullptr);
  if (kind == FalseSharingKind::kPassive) {
    for (int t = 0; t < threads; ++t) handed_over[t] = AllocateOrFail(log, kObjectSize);
  }
  RunOnThreads(threads, [&](int t) { Worker(log, handed_over[t], per_thread, t); });
  return FinishWorkload(name, options, per_thread * threads, log);
}

}  // namespace bench
}  // namespace rseqmalloc

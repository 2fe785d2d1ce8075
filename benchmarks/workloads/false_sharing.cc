#include "benchmarks/workloads/false_sharing.h"

#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

namespace rseqmalloc {
namespace bench {
namespace {

constexpr size_t kObjectSize = 8;
constexpr int kWritesPerByte = 400;

// Writes every byte of the object kWritesPerByte times through a volatile pointer (so the stores
// really happen), then checks that each byte holds what the writes produced.
bool WriteRepeatedly(void* object, unsigned char seed) {
  volatile unsigned char* bytes = static_cast<volatile unsigned char*>(object);
  for (size_t i = 0; i < kObjectSize; ++i) bytes[i] = seed;
  for (int w = 0; w < kWritesPerByte; ++w) {
    for (size_t i = 0; i < kObjectSize; ++i) bytes[i] = bytes[i] + 1;
  }
  unsigned char expected = static_cast<unsigned char>(seed + kWritesPerByte);
  for (size_t i = 0; i < kObjectSize; ++i) {
    if (bytes[i] != expected) return false;
  }
  return true;
}

void Worker(CheckLog& log, void* handed_over, uint64_t iterations, int thread_index) {
  if (handed_over != nullptr) std::free(handed_over);
  for (uint64_t i = 0; i < iterations; ++i) {
    void* object = AllocateOrFail(log, kObjectSize);
    if (!WriteRepeatedly(object, static_cast<unsigned char>(thread_index + i))) {
      log.Fail("false sharing: another thread wrote into this object", kObjectSize);
    }
    std::free(object);
  }
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
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    void* object = handed_over[t];
    workers.emplace_back([&log, object, per_thread, t] { Worker(log, object, per_thread, t); });
  }
  for (auto& worker : workers) worker.join();
  return FinishWorkload(name, options, per_thread * threads, log);
}

}  // namespace bench
}  // namespace rseqmalloc

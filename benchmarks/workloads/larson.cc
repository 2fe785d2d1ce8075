// larson-like server churn. Each worker owns a chunk of slots holding objects of random small
// sizes and replaces random slots over and over (free the old object, allocate a new one), the way
// a server frees one request's data and allocates the next. Workers live for one round only; the
// next round's workers take over the chunks rotated by one, so most frees hit objects that another
// thread allocated, often a thread that has already exited.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "benchmarks/workloads/check_log.h"
#include "benchmarks/workloads/object_stamp.h"
#include "benchmarks/workloads/rng.h"
#include "benchmarks/workloads/thread_group.h"
#include "benchmarks/workloads/workload_options.h"
#include "benchmarks/workloads/workload_result.h"

namespace rseqmalloc {
namespace bench {
namespace {

struct Slot {
  void* object = nullptr;
  size_t size = 0;
  uint64_t tag = 0;
};

constexpr size_t kSlotsPerChunk = 4000;
constexpr size_t kMinSize = 8;
constexpr size_t kMaxSize = 1024;
constexpr int kRounds = 8;

void Replace(CheckLog& log, Slot& slot, Rng& rng) {
  if (slot.object != nullptr) {
    VerifyStamp(log, slot.object, slot.size, slot.tag, "larson: object changed while live");
    std::free(slot.object);
  }
  slot.size = LogUniformSize(rng, kMinSize, kMaxSize);
  slot.tag = rng.Next();
  slot.object = AllocateOrFail(log, slot.size);
  StampObject(slot.object, slot.size, slot.tag);
}

void ChurnChunk(CheckLog& log, std::vector<Slot>& chunk, uint64_t ops, uint64_t seed) {
  Rng rng(seed);
  for (uint64_t i = 0; i < ops; ++i) Replace(log, chunk[rng.Below(chunk.size())], rng);
}

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "larson", "Server-style churn; objects are freed by later threads.");
  const int threads = options.threads;
  const uint64_t total_ops = ScaledCount(options, 1e7, kRounds * threads);
  const uint64_t ops_per_worker = total_ops / (kRounds * threads);
  CheckLog log;

  std::vector<std::vector<Slot>> chunks(threads, std::vector<Slot>(kSlotsPerChunk));
  Rng fill_rng(1);
  for (auto& chunk : chunks) {
    for (Slot& slot : chunk) Replace(log, slot, fill_rng);
  }
  for (int round = 0; round < kRounds; ++round) {
    RunOnThreads(threads, [&](int t) {
      const uint64_t seed = static_cast<uint64_t>(round) * 1000 + t + 7;
      ChurnChunk(log, chunks[(t + round) % threads], ops_per_worker, seed);
    });
  }
  for (auto& chunk : chunks) {
    for (Slot& slot : chunk) {
      VerifyStamp(log, slot.object, slot.size, slot.tag, "larson: object changed at the end");
      std::free(slot.object);
    }
  }
  return FinishWorkload("larson", options, ops_per_worker * kRounds * threads, log);
}

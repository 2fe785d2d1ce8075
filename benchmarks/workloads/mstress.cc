// mstress-like thread churn with survivors. Generations of short-lived threads run one after the
// other. Each thread does transient work (allocate a burst, free it in random order) and replaces
// objects in a shared pool of survivors. The pool outlives every thread, so most survivors are
// freed by a thread of a later generation after the thread that allocated them has exited: the
// allocator must hand memory of dead threads to live ones and must not leak per-thread caches.
#include <cstdint>
#include <cstdlib>
#include <utility>
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

using Object = StampedObject;

constexpr int kGenerations = 24;
constexpr size_t kPoolStripeSlots = 5000;
constexpr size_t kBurst = 64;

size_t SurvivorSize(Rng& rng) {
  // Mostly small, one in 64 medium-to-large: threads that leave big objects behind too.
  return rng.Below(64) == 0 ? LogUniformSize(rng, 4096, 256 * 1024) : LogUniformSize(rng, 8, 1024);
}

Object Make(CheckLog& log, Rng& rng, size_t size) {
  Object object{AllocateOrFail(log, size), size, rng.Next()};
  StampObject(object.memory, object.size, object.tag);
  return object;
}

void Destroy(CheckLog& log, Object& object, const char* step) {
  if (object.memory == nullptr) return;
  VerifyAndFree(log, object, step);
  object.memory = nullptr;
}

void Generation(CheckLog& log, std::vector<Object>& stripe, uint64_t steps, uint64_t seed) {
  Rng rng(seed);
  Object burst[kBurst];
  for (uint64_t step = 0; step < steps; ++step) {
    if (step % 2 == 0) {
      size_t count = 1 + rng.Below(kBurst);
      for (size_t i = 0; i < count; ++i) burst[i] = Make(log, rng, LogUniformSize(rng, 8, 512));
      for (size_t i = count; i > 1; --i) std::swap(burst[i - 1], burst[rng.Below(i)]);
      for (size_t i = 0; i < count; ++i) Destroy(log, burst[i], "mstress: transient object changed");
    } else {
      Object& survivor = stripe[rng.Below(stripe.size())];
      Destroy(log, survivor, "mstress: survivor changed");
      survivor = Make(log, rng, SurvivorSize(rng));
    }
  }
}

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "mstress", "Generations of threads; survivors are freed by later generations.");
  const int threads = options.threads;
  const uint64_t total_steps = ScaledCount(options, 7e5, kGenerations * threads);
  const uint64_t steps_per_thread = total_steps / (kGenerations * threads);
  CheckLog log;

  std::vector<std::vector<Object>> pool(threads, std::vector<Object>(kPoolStripeSlots));
  for (int generation = 0; generation < kGenerations; ++generation) {
    // New threads every generation; each takes over the stripe another thread filled last time.
    RunOnThreads(threads, [&](int t) {
      const uint64_t seed = static_cast<uint64_t>(generation) * 7919 + t;
      Generation(log, pool[(t + generation) % threads], steps_per_thread, seed);
    });
  }
  for (auto& stripe : pool) {
    for (Object& object : stripe) Destroy(log, object, "mstress: survivor changed at the end");
  }
  return FinishWorkload("mstress", options, steps_per_thread * kGenerations * threads, log);
}

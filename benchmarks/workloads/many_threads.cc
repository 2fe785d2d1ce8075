// Many more threads than CPUs (after the thread-heavy server shape): --threads workers (the runner
// passes 256) confined to two CPUs. Three in four are long-lived: each builds a working set of
// small objects, replaces random ones many times, then frees them all. The rest are short-lived:
// slots whose threads do a short burst of the same and exit, replaced generation after generation.
// An allocator with a cache per thread keeps a cache for each of the 256 threads; one with caches
// per CPU keeps two. What the runner reports is the peak RSS next to the time; live_kib in the
// RESULT line is what the long-lived threads hold together (they build their sets, wait for each
// other, churn, wait again, then free).
#include <sched.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
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

constexpr int kCpus = 2;
constexpr size_t kLongLivedObjects = 256;
constexpr size_t kShortLivedObjects = 64;

// Confines the process (and every thread it starts) to the first kCpus CPUs it may use, so that
// "256 threads on 2 CPUs" holds on any machine. Returns how many CPUs it kept.
int ConfineToCpus() {
  cpu_set_t allowed, kept;
  CPU_ZERO(&kept);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return 0;
  int count = 0;
  for (int c = 0; c < CPU_SETSIZE && count < kCpus; ++c) {
    if (CPU_ISSET(c, &allowed)) {
      CPU_SET(c, &kept);
      ++count;
    }
  }
  sched_setaffinity(0, sizeof(kept), &kept);
  return count;
}

StampedObject NewObject(CheckLog& log, Rng& rng) {
  size_t size = LogUniformSize(rng, 16, 1024);
  return AllocateStamped(log, size, rng.Next());
}

// One thread's life: build a working set, replace random objects `replacements` times (yielding
// now and then, as threads that wait for work do), free everything. When `together` is given,
// the thread waits there after building its set and again before freeing it, so that every
// long-lived thread holds its working set at the same time. Returns the working set's bytes.
uint64_t Live(CheckLog& log, size_t objects, uint64_t replacements, uint64_t seed, Phases* together) {
  Rng rng(seed);
  std::vector<StampedObject> set(objects);
  uint64_t bytes = 0;
  for (StampedObject& object : set) {
    object = NewObject(log, rng);
    bytes += object.size;
  }
  if (together != nullptr) together->ArriveAndWait();
  for (uint64_t i = 0; i < replacements; ++i) {
    StampedObject& object = set[rng.Below(objects)];
    VerifyAndFree(log, object, "many_threads: object changed");
    object = NewObject(log, rng);
    if (i % 512 == 511) std::this_thread::yield();
  }
  if (together != nullptr) together->ArriveAndWait();
  for (StampedObject& object : set) VerifyAndFree(log, object, "many_threads: object changed at exit");
  return bytes;
}

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "many_threads",
      "--threads workers (e.g. 256) on two CPUs, each holding a working set; some short-lived.");
  ConfineToCpus();
  const int threads = options.threads;
  const int short_slots = threads / 4;
  const int long_lived = threads - short_slots;
  const uint64_t long_replacements = ScaledCount(options, 20000, 100);
  const uint64_t generations = ScaledCount(options, 20, 2);
  const uint64_t short_replacements = ScaledCount(options, 2000, 50);
  CheckLog log;

  std::vector<uint64_t> live_bytes(static_cast<size_t>(long_lived), 0);
  std::thread short_lived_driver([&] {
    for (uint64_t g = 0; g < generations; ++g) {
      RunOnThreads(short_slots, [&](int t) {
        Live(log, kShortLivedObjects, short_replacements, (g + 1) * 100000 + t, nullptr);
      });
    }
  });
  Phases together(long_lived);
  RunOnThreads(long_lived, [&](int t) {
    live_bytes[t] = Live(log, kLongLivedObjects, long_replacements, 7 + t, &together);
  });
  short_lived_driver.join();

  uint64_t live = 0;
  for (uint64_t bytes : live_bytes) live += bytes;
  uint64_t ops = static_cast<uint64_t>(long_lived) * (long_replacements + kLongLivedObjects) +
                 generations * short_slots * (short_replacements + kShortLivedObjects);
  std::string extra = "long_lived=" + std::to_string(long_lived) +
                      " short_lived=" + std::to_string(generations * short_slots) +
                      " held_kib=" + std::to_string(live / 1024);
  return FinishWorkload("many_threads", options, ops, log, extra);
}

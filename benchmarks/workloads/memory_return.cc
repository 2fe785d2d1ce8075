// Memory return: does the allocator give memory back to the system once a program shrinks? The
// threads grow a large heap of mixed sizes, then free 90% of it (each thread frees most of its
// neighbour's objects, so the frees are cross-thread, and the 10% left are scattered, the hard
// case for returning whole pages). The threads stay alive but idle while the main thread waits;
// then it reads the resident set size. Reported: rss_after_idle_kib and live_kib (what the
// program still holds), next to the runner's peak RSS.
#include <unistd.h>

#include <chrono>
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

using Object = StampedObject;

constexpr size_t kKeepOneIn = 10;

size_t GrowthSize(Rng& rng) {
  // By bytes about half small objects and half medium ones, with some large ones.
  uint64_t pick = rng.Below(100);
  if (pick < 90) return LogUniformSize(rng, 16, 1024);
  if (pick < 99) return LogUniformSize(rng, 1024, 32 * 1024);
  return LogUniformSize(rng, 64 * 1024, 1024 * 1024);
}

void Grow(CheckLog& log, std::vector<Object>& heap, uint64_t bytes, uint64_t seed) {
  Rng rng(seed);
  uint64_t allocated = 0;
  while (allocated < bytes) {
    Object object;
    object.size = GrowthSize(rng);
    object.tag = rng.Next();
    object.memory = AllocateOrFail(log, object.size);
    StampObject(object.memory, object.size, object.tag);
    heap.push_back(object);
    allocated += object.size;
  }
}

// Frees all but every kKeepOneIn-th object; returns the bytes still held.
uint64_t Shrink(CheckLog& log, std::vector<Object>& heap) {
  uint64_t kept_bytes = 0;
  size_t kept = 0;
  for (size_t i = 0; i < heap.size(); ++i) {
    Object& object = heap[i];
    VerifyStamp(log, object.memory, object.size, object.tag, "memory_return: object changed");
    if (i % kKeepOneIn == 0) {
      heap[kept++] = object;
      kept_bytes += object.size;
    } else {
      std::free(object.memory);
    }
  }
  heap.resize(kept);
  return kept_bytes;
}

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "memory_return",
      "Grow a big heap, free 90% of it, stay idle for --idle seconds, report RSS.");
  const int threads = options.threads;
  const uint64_t total_bytes = ScaledCount(options, 512.0 * 1024 * 1024, 1 << 20);
  CheckLog log;

  std::vector<std::vector<Object>> heaps(threads);
  std::vector<uint64_t> kept_bytes(threads, 0);
  // Workers: grow, shrink the neighbour's heap, then wait through the idle period (alive, as
  // threads of a server would be) and finally free the rest. The main thread is one more party.
  Phases phases(threads + 1);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Grow(log, heaps[t], total_bytes / threads, 1000 + t);
      phases.ArriveAndWait();  // everyone has grown
      int victim = (t + 1) % threads;
      kept_bytes[victim] = Shrink(log, heaps[victim]);
      phases.ArriveAndWait();  // everyone has shrunk
      phases.ArriveAndWait();  // the idle period is over
      for (Object& object : heaps[victim]) {
        VerifyAndFree(log, object, "memory_return: survivor changed");
      }
    });
  }
  phases.ArriveAndWait();
  uint64_t rss_grown = CurrentRssKib();
  phases.ArriveAndWait();
  uint64_t rss_shrunk = CurrentRssKib();
  std::this_thread::sleep_for(std::chrono::duration<double>(options.idle_seconds));
  uint64_t rss_after_idle = CurrentRssKib();
  phases.ArriveAndWait();
  for (auto& worker : workers) worker.join();

  uint64_t live = 0;
  for (uint64_t bytes : kept_bytes) live += bytes;
  std::string extra = "rss_grown_kib=" + std::to_string(rss_grown) +
                      " rss_freed_kib=" + std::to_string(rss_shrunk) +
                      " rss_after_idle_kib=" + std::to_string(rss_after_idle) +
                      " live_kib=" + std::to_string(live / 1024);
  return FinishWorkload("memory_return", options, total_bytes, log, extra);
}

// alloc-test-like Pareto-sized mix. Each thread keeps a working set of objects and replaces random
// ones. Sizes follow a Pareto distribution: almost all small, a few very large, so that every size
// class and the large-object path see traffic in the proportion real programs produce; a slice of
// the replaced objects is given to the next thread to free.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <mutex>
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

constexpr size_t kWorkingSet = 8000;
constexpr double kParetoShape = 1.1;
constexpr double kParetoMinimum = 16;
constexpr size_t kMaxSize = 1 << 20;
constexpr size_t kHandoffBatch = 256;

size_t ParetoSize(Rng& rng) {
  double u = 1.0 - rng.Unit();  // (0, 1]
  double size = kParetoMinimum / std::pow(u, 1.0 / kParetoShape);
  return size >= kMaxSize ? kMaxSize : static_cast<size_t>(size);
}

// Objects handed from one thread to the next, freed by the receiver.
struct Handoff {
  std::mutex lock;
  std::vector<Object> objects;
};

void Worker(CheckLog& log, std::vector<Handoff>& handoffs, int self, uint64_t ops) {
  Rng rng(self * 101 + 3);
  const int threads = static_cast<int>(handoffs.size());
  std::vector<Object> working_set(kWorkingSet);
  std::vector<Object> outgoing, incoming;
  for (uint64_t op = 0; op < ops; ++op) {
    Object& slot = working_set[rng.Below(kWorkingSet)];
    if (slot.memory != nullptr) {
      VerifyStamp(log, slot.memory, slot.size, slot.tag, "alloc_test: object changed");
      if (rng.Below(8) == 0) {
        outgoing.push_back(slot);
      } else {
        std::free(slot.memory);
      }
    }
    slot.size = ParetoSize(rng);
    slot.tag = rng.Next();
    slot.memory = AllocateOrFail(log, slot.size);
    StampObject(slot.memory, slot.size, slot.tag);
    if (outgoing.size() == kHandoffBatch || op + 1 == ops) {
      Handoff& next = handoffs[(self + 1) % threads];
      {
        std::lock_guard<std::mutex> guard(next.lock);
        next.objects.insert(next.objects.end(), outgoing.begin(), outgoing.end());
      }
      outgoing.clear();
      Handoff& own = handoffs[self];
      {
        std::lock_guard<std::mutex> guard(own.lock);
        incoming.swap(own.objects);
      }
      for (Object& object : incoming) {
        VerifyAndFree(log, object, "alloc_test: handed-off object changed");
      }
      incoming.clear();
    }
  }
  for (Object& object : working_set) {
    VerifyAndFree(log, object, "alloc_test: object changed at the end");
  }
}

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "alloc_test", "Random replacement with Pareto-distributed sizes.");
  const int threads = options.threads;
  const uint64_t total_ops = ScaledCount(options, 6e6, threads);
  const uint64_t per_thread = total_ops / threads;
  CheckLog log;

  std::vector<Handoff> handoffs(threads);
  RunOnThreads(threads, [&](int t) { Worker(log, handoffs, t, per_thread); });
  for (Handoff& handoff : handoffs) {
    for (Object& object : handoff.objects) {
      VerifyAndFree(log, object, "alloc_test: leftover object changed");
    }
  }
  return FinishWorkload("alloc_test", options, per_thread * threads, log);
}

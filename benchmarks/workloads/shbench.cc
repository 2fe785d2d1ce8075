// sh6/sh8-like batches freed in LIFO and FIFO order with cross-thread frees. Each thread allocates
// a batch of mostly small objects, frees the newer half newest-first (a stack discipline, like
// sh6bench's LIFO phase), and leaves the older half in a mailbox for its neighbour thread. Before
// that it takes what its other neighbour left and frees that oldest-first (reverse of LIFO), on a
// thread that did not allocate it, as sh8bench does.
#include <atomic>
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

using Object = StampedObject;

constexpr size_t kBatchObjects = 200;

// Mostly tiny: shbench's sizes fall off fast.
size_t ShbenchSize(Rng& rng) {
  return rng.Below(8) == 0 ? LogUniformSize(rng, 256, 4096) : LogUniformSize(rng, 1, 256);
}

struct Mailbox {
  alignas(64) std::atomic<std::vector<Object>*> parcel{nullptr};
};

void FreeAll(CheckLog& log, std::vector<Object>& objects, const char* step) {
  for (Object& object : objects) VerifyAndFree(log, object, step);
}

void Worker(CheckLog& log, std::vector<Mailbox>& mailboxes, int self, uint64_t batches) {
  Rng rng(self * 31 + 5);
  const int threads = static_cast<int>(mailboxes.size());
  Mailbox& mine = mailboxes[self];
  Mailbox& neighbour = mailboxes[(self + 1) % threads];
  for (uint64_t b = 0; b < batches; ++b) {
    std::vector<Object>* received = mine.parcel.exchange(nullptr, std::memory_order_acquire);
    if (received != nullptr) {
      FreeAll(log, *received, "shbench: object from a neighbour changed");
      delete received;
    }
    auto* batch = new std::vector<Object>();
    batch->reserve(kBatchObjects);
    for (size_t i = 0; i < kBatchObjects; ++i) {
      size_t size = ShbenchSize(rng);
      Object object{AllocateOrFail(log, size), size, rng.Next()};
      StampObject(object.memory, size, object.tag);
      batch->push_back(object);
    }
    while (batch->size() > kBatchObjects / 2) {
      VerifyAndFree(log, batch->back(), "shbench: LIFO object changed");
      batch->pop_back();
    }
    std::vector<Object>* unclaimed = neighbour.parcel.exchange(batch, std::memory_order_acq_rel);
    if (unclaimed != nullptr) {
      // The neighbour has not collected its previous parcel yet: free that one here.
      FreeAll(log, *unclaimed, "shbench: unclaimed object changed");
      delete unclaimed;
    }
  }
}

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "shbench", "LIFO and FIFO batch frees, half of them on another thread.");
  const int threads = options.threads;
  const uint64_t total_batches = ScaledCount(options, 4.5e4, threads);
  const uint64_t per_thread = total_batches / threads;
  CheckLog log;

  std::vector<Mailbox> mailboxes(threads);
  RunOnThreads(threads, [&](int t) { Worker(log, mailboxes, t, per_thread); });
  for (Mailbox& mailbox : mailboxes) {
    std::vector<Object>* left = mailbox.parcel.exchange(nullptr);
    if (left != nullptr) {
      FreeAll(log, *left, "shbench: object left at the end changed");
      delete left;
    }
  }
  return FinishWorkload("shbench", options, per_thread * threads * kBatchObjects, log);
}

// xmalloc-like producer/consumer. Producers only allocate and consumers only free: every object
// crosses threads, so an allocator with per-thread or per-CPU caches keeps moving memory from the
// consumers' side back to the producers' side. Objects travel in batches through a bounded
// single-producer single-consumer ring, one ring per producer/consumer pair.
#include <sched.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "benchmarks/workloads/check_log.h"
#include "benchmarks/workloads/object_stamp.h"
#include "benchmarks/workloads/rng.h"
#include "benchmarks/workloads/workload_options.h"
#include "benchmarks/workloads/workload_result.h"

namespace rseqmalloc {
namespace bench {
namespace {

constexpr size_t kBatchObjects = 64;
constexpr size_t kRingBatches = 32;
constexpr size_t kMinSize = 8;
constexpr size_t kMaxSize = 512;

struct Batch {
  void* objects[kBatchObjects];
  uint32_t sizes[kBatchObjects];
  uint64_t tags[kBatchObjects];
};

// Waiting for the other side of a ring: yield for a while, then sleep in short naps, so that with
// more threads than free cores (a busy machine) the waiting thread gives its core to the one it
// waits for instead of spinning through its time slices; that would measure the scheduler.
class Backoff {
 public:
  void Wait() {
    if (++rounds_ < 64) {
      sched_yield();
    } else {
      timespec nap{0, 20000};
      nanosleep(&nap, nullptr);
    }
  }

 private:
  int rounds_ = 0;
};

// The ring's slots are written in place so that moving objects costs no allocation of its own.
class BatchRing {
 public:
  Batch& SlotToFill() {
    uint64_t head = head_.load(std::memory_order_relaxed);
    for (Backoff backoff; head - tail_.load(std::memory_order_acquire) == kRingBatches;) backoff.Wait();
    return slots_[head % kRingBatches];
  }
  void Publish() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  Batch& SlotToDrain() {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    for (Backoff backoff; head_.load(std::memory_order_acquire) == tail;) backoff.Wait();
    return slots_[tail % kRingBatches];
  }
  void Release() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

 private:
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) Batch slots_[kRingBatches];
};

void Produce(CheckLog& log, BatchRing& ring, uint64_t batches, uint64_t seed) {
  Rng rng(seed);
  for (uint64_t b = 0; b < batches; ++b) {
    Batch& batch = ring.SlotToFill();
    for (size_t i = 0; i < kBatchObjects; ++i) {
      size_t size = LogUniformSize(rng, kMinSize, kMaxSize);
      batch.sizes[i] = static_cast<uint32_t>(size);
      batch.tags[i] = rng.Next();
      batch.objects[i] = AllocateOrFail(log, size);
      StampObject(batch.objects[i], size, batch.tags[i]);
    }
    ring.Publish();
  }
}

void Consume(CheckLog& log, BatchRing& ring, uint64_t batches) {
  for (uint64_t b = 0; b < batches; ++b) {
    Batch& batch = ring.SlotToDrain();
    for (size_t i = 0; i < kBatchObjects; ++i) {
      VerifyStamp(log, batch.objects[i], batch.sizes[i], batch.tags[i],
                  "xmalloc: object changed in transit");
      std::free(batch.objects[i]);
    }
    ring.Release();
  }
}

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "xmalloc", "Producer threads allocate, consumer threads free.");
  // Half the threads produce, half consume; a single thread still gets one pair.
  const int pairs = options.threads >= 2 ? options.threads / 2 : 1;
  const uint64_t total_objects = ScaledCount(options, 1e7, kBatchObjects * pairs);
  const uint64_t batches_per_pair = total_objects / (kBatchObjects * pairs);
  CheckLog log;

  std::vector<std::unique_ptr<BatchRing>> rings;
  for (int p = 0; p < pairs; ++p) rings.push_back(std::make_unique<BatchRing>());
  std::vector<std::thread> workers;
  for (int p = 0; p < pairs; ++p) {
    BatchRing& ring = *rings[p];
    workers.emplace_back([&log, &ring, batches_per_pair, p] {
      Produce(log, ring, batches_per_pair, 100 + p);
    });
    workers.emplace_back([&log, &ring, batches_per_pair] { Consume(log, ring, batches_per_pair); });
  }
  for (auto& worker : workers) worker.join();
  return FinishWorkload("xmalloc", options, batches_per_pair * kBatchObjects * pairs, log);
}

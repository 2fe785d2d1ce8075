// Cross-thread handoff: the benchmark thread allocates batches of objects and a consumer thread
// frees them, so every free is a remote free. Measured per object, for rseqmalloc and the system
// malloc.
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "benchmark/benchmark.h"
#include "benchmarks/micro/allocator_under_test.h"

namespace rseqmalloc {
namespace bench {
namespace {

constexpr size_t kBatch = 32;
constexpr size_t kRingBatches = 16;

// Single-producer single-consumer ring of fixed-size batches; the consumer frees what it gets.
template <typename Allocator>
class FreeingConsumer {
 public:
  FreeingConsumer() : thread_([this] { Run(); }) {}
  ~FreeingConsumer() {
    stop_.store(true, std::memory_order_release);
    thread_.join();
  }

  void** SlotToFill() {
    uint64_t head = head_.load(std::memory_order_relaxed);
    while (head - tail_.load(std::memory_order_acquire) == kRingBatches) sched_yield();
    return ring_[head % kRingBatches];
  }
  void Publish() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

 private:
  void Run() {
    uint64_t tail = 0;
    for (;;) {
      uint64_t head = head_.load(std::memory_order_acquire);
      if (head == tail) {
        if (stop_.load(std::memory_order_acquire) && head_.load(std::memory_order_acquire) == tail) return;
        sched_yield();
        continue;
      }
      void** batch = ring_[tail % kRingBatches];
      for (size_t i = 0; i < kBatch; ++i) Allocator::Free(batch[i]);
      tail_.store(++tail, std::memory_order_release);
    }
  }

  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) std::atomic<bool> stop_{false};
  void* ring_[kRingBatches][kBatch];
  std::thread thread_;
};

template <typename Allocator>
void BM_CrossThreadHandoff(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  FreeingConsumer<Allocator> consumer;
  for (auto _ : state) {
    void** batch = consumer.SlotToFill();
    for (size_t i = 0; i < kBatch; ++i) batch[i] = Allocator::Malloc(size);
    consumer.Publish();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}

BENCHMARK_TEMPLATE(BM_CrossThreadHandoff, RseqMalloc)->Arg(64)->Arg(1024)->UseRealTime();
BENCHMARK_TEMPLATE(BM_CrossThreadHandoff, SystemMalloc)->Arg(64)->Arg(1024)->UseRealTime();

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

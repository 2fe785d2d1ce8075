// Single-threaded microbenchmarks of each allocation path, for rseqmalloc and the system malloc.
// Names read BM_<Path><Allocator>/<argument>, e.g. BM_MallocFree<RseqMalloc>/64.
#include <cstdint>
#include <cstring>
#include <vector>

#include "benchmark/benchmark.h"
#include "benchmarks/micro/allocator_under_test.h"

namespace rseqmalloc {
namespace bench {
namespace {

// Fast path: a free followed by a malloc of the same size is the per-CPU cache's best case.
template <typename Allocator>
void BM_MallocFree(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* ptr = Allocator::Malloc(size);
    benchmark::DoNotOptimize(ptr);
    Allocator::Free(ptr);
  }
  state.SetItemsProcessed(state.iterations());
}

template <typename Allocator>
void BM_NewSizedDelete(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* ptr = Allocator::New(size);
    benchmark::DoNotOptimize(ptr);
    Allocator::SizedDelete(ptr, size);
  }
  state.SetItemsProcessed(state.iterations());
}

// A random mix of sizes (8 B to 8 KiB, spread over powers of two) with 1024 live objects replaced
// in random order, so successive calls hit different size classes and do not reuse the last block.
template <typename Allocator>
void BM_RandomMix(benchmark::State& state) {
  constexpr size_t kLive = 1024;
  constexpr size_t kSizes = 4096;
  std::vector<size_t> sizes(kSizes);
  std::vector<uint32_t> slots(kSizes);
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < kSizes; ++i) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    sizes[i] = size_t{8} << (x % 10);
    sizes[i] += (x >> 8) % sizes[i];
    slots[i] = static_cast<uint32_t>((x >> 32) % kLive);
  }
  std::vector<void*> live(kLive, nullptr);
  size_t i = 0;
  for (auto _ : state) {
    void*& slot = live[slots[i]];
    Allocator::Free(slot);
    slot = Allocator::Malloc(sizes[i]);
    benchmark::DoNotOptimize(slot);
    i = (i + 1) % kSizes;
  }
  for (void* ptr : live) Allocator::Free(ptr);
  state.SetItemsProcessed(state.iterations());
}

// Allocates a whole batch, then frees it: more objects than a per-CPU cache holds, so the batch
// forces refills from the central free lists on the way up and drains on the way down.
template <typename Allocator>
void BM_BatchAllocThenFree(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  constexpr size_t kSize = 64;
  std::vector<void*> objects(batch);
  for (auto _ : state) {
    for (size_t i = 0; i < batch; ++i) objects[i] = Allocator::Malloc(kSize);
    benchmark::DoNotOptimize(objects.data());
    for (size_t i = 0; i < batch; ++i) Allocator::Free(objects[i]);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// Large allocations take the page-level path (often mmap); one byte per allocation is written so
// that the block is really usable, not so many that page faults drown the allocator's own cost.
template <typename Allocator>
void BM_LargeMallocFree(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    char* ptr = static_cast<char*>(Allocator::Malloc(size));
    ptr[0] = 1;
    benchmark::DoNotOptimize(ptr);
    Allocator::Free(ptr);
  }
  state.SetItemsProcessed(state.iterations());
}

// A buffer that grows by repeated realloc from 16 B to the argument, doubling, the pattern of
// std::string or vector growth in C code; each step writes its new last byte.
template <typename Allocator>
void BM_ReallocGrowth(benchmark::State& state) {
  const size_t limit = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    size_t size = 16;
    char* ptr = static_cast<char*>(Allocator::Malloc(size));
    while (size < limit) {
      size *= 2;
      ptr = static_cast<char*>(Allocator::Realloc(ptr, size));
      ptr[size - 1] = 1;
    }
    benchmark::DoNotOptimize(ptr);
    Allocator::Free(ptr);
  }
  state.SetItemsProcessed(state.iterations());
}

// aligned_alloc of a 256-byte object at the argument's alignment.
template <typename Allocator>
void BM_AlignedAlloc(benchmark::State& state) {
  const size_t alignment = static_cast<size_t>(state.range(0));
  constexpr size_t kSize = 256;
  for (auto _ : state) {
    void* ptr = Allocator::AlignedAlloc(alignment, kSize);
    if (ptr == nullptr) {
      state.SkipWithError("aligned_alloc returned null");
      break;
    }
    benchmark::DoNotOptimize(ptr);
    Allocator::Free(ptr);
  }
  state.SetItemsProcessed(state.iterations());
}

// Each benchmark is registered for both allocators, rseqmalloc first, so that they alternate in
// the run and in the report.
#define RSEQMALLOC_BOTH(name) \
  BENCHMARK_TEMPLATE(name, RseqMalloc)->ARGS; BENCHMARK_TEMPLATE(name, SystemMalloc)->ARGS

#define ARGS RangeMultiplier(2)->Range(8, 32 << 10)
RSEQMALLOC_BOTH(BM_MallocFree);
RSEQMALLOC_BOTH(BM_NewSizedDelete);
#undef ARGS
#define ARGS Arg(0)
RSEQMALLOC_BOTH(BM_RandomMix);
#undef ARGS
#define ARGS Arg(1000)->Arg(20000)
RSEQMALLOC_BOTH(BM_BatchAllocThenFree);
#undef ARGS
#define ARGS Arg(1 << 20)->Arg(4 << 20)->Arg(32 << 20)
RSEQMALLOC_BOTH(BM_LargeMallocFree);
#undef ARGS
#define ARGS Arg(64 << 10)->Arg(4 << 20)
RSEQMALLOC_BOTH(BM_ReallocGrowth);
#undef ARGS
#define ARGS Arg(64)->Arg(4096)
RSEQMALLOC_BOTH(BM_AlignedAlloc);
#undef ARGS

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

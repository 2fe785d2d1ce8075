// Microbenchmarks of the back end's pieces: size-class lookup, pagemap lookup, page heap
// New/Delete by size, release, the spin lock and the central free list. Run:
//   bazel run //tests/allocator:backend_benchmark -- --benchmark_repetitions=5
#include <string.h>

#include <vector>

#include "allocator/central_free_list.h"
#include "allocator/page_heap.h"
#include "allocator/page_map.h"
#include "allocator/size_classes.h"
#include "allocator/spin_lock.h"
#include "benchmark/benchmark.h"

namespace rseqmalloc {
namespace {

void BM_ClassFor(benchmark::State& state) {
  size_t size = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(SizeMap::ClassFor(size));
    size = (size * 5 + 3) & (kMaxSmallSize - 1);  // varied sizes, cheap to compute
  }
}
BENCHMARK(BM_ClassFor);

void BM_PageMapGetSpan(benchmark::State& state) {
  Span* s = g_page_heap.New(64);
  PageId p = s->first_page;
  for (auto _ : state) {
    benchmark::DoNotOptimize(g_pagemap.GetSpan(p));
    p = s->first_page + ((p + 7) & 63);
  }
  g_page_heap.Delete(s);
}
BENCHMARK(BM_PageMapGetSpan);

void BM_PageMapGetSizeClass(benchmark::State& state) {
  Span* s = g_page_heap.New(64);
  PageId p = s->first_page;
  for (auto _ : state) {
    benchmark::DoNotOptimize(g_pagemap.GetSizeClass(p));
    p = s->first_page + ((p + 7) & 63);
  }
  g_page_heap.Delete(s);
}
BENCHMARK(BM_PageMapGetSizeClass);

// New + Delete of one span, the heap otherwise warm: the free run is reused each time.
void BM_PageHeapNewDelete(benchmark::State& state) {
  const size_t pages = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    Span* s = g_page_heap.New(pages);
    benchmark::DoNotOptimize(s);
    g_page_heap.Delete(s);
  }
  state.SetLabel(std::to_string(pages * kPageSize / 1024) + " KiB");
}
BENCHMARK(BM_PageHeapNewDelete)->Arg(1)->Arg(8)->Arg(128)->Arg(1024)->Arg(8192);

// The same with every kernel page touched: shows that freeing does not madvise (no refaults).
void BM_PageHeapNewTouchDelete(benchmark::State& state) {
  const size_t pages = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    Span* s = g_page_heap.New(pages);
    char* p = static_cast<char*>(s->start());
    for (size_t off = 0; off < s->bytes(); off += 4096) p[off] = 1;
    g_page_heap.Delete(s);
  }
  state.SetLabel(std::to_string(pages * kPageSize >> 20) + " MiB");
}
BENCHMARK(BM_PageHeapNewTouchDelete)->Arg(1024)->Arg(8192);

// Many live spans of mixed sizes: New/Delete with fragmented free lists.
void BM_PageHeapFragmented(benchmark::State& state) {
  constexpr int kLive = 4096;
  static Span* live[kLive];
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < kLive; ++i) live[i] = g_page_heap.New(1 + i % 300);
  for (auto _ : state) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const int k = static_cast<int>(x % kLive);
    g_page_heap.Delete(live[k]);
    live[k] = g_page_heap.New(1 + (x >> 32) % 300);
  }
  for (int i = 0; i < kLive; ++i) g_page_heap.Delete(live[i]);
}
BENCHMARK(BM_PageHeapFragmented);

// Touch 64 MiB, free it, release it: the cost of giving memory back (madvise + refault).
void BM_ReleaseFree64MiB(benchmark::State& state) {
  const size_t pages = (size_t{64} << 20) >> kPageShift;
  for (auto _ : state) {
    Span* s = g_page_heap.New(pages);
    memset(s->start(), 1, s->bytes());
    g_page_heap.Delete(s);
    benchmark::DoNotOptimize(g_page_heap.ReleaseFree(0));
  }
}
BENCHMARK(BM_ReleaseFree64MiB)->Unit(benchmark::kMillisecond);

void BM_SpinLockUncontended(benchmark::State& state) {
  static SpinLock lock;
  for (auto _ : state) {
    lock.Lock();
    lock.Unlock();
  }
}
BENCHMARK(BM_SpinLockUncontended);

// Batches of objects scattered over many spans going back to one class's central free list and
// out again, as transfer caches spill and refill: the cost of the locked sections. With two
// threads on one list it adds the wait for the other's section.
void BM_CentralFreeListBatchRoundTrip(benchmark::State& state) {
  static CentralFreeList list;
  static const uint32_t cl = [] {
    const uint32_t c = SizeMap::ClassFor(64);
    list.Init(c);
    return c;
  }();
  (void)cl;
  constexpr int kBatch = 32;
  // The working set: Arg(0) batches over many spans (small: in cache; large: the pagemap and
  // the spans miss the cache, as in a program with a big heap).
  const int objects = static_cast<int>(state.range(0)) * kBatch;
  std::vector<void*> held(objects);
  if (list.RemoveRange(held.data(), objects) != objects) {
    state.SkipWithError("out of memory");
    return;
  }
  // Scatter the order so that each batch touches many spans, as frees from a real program do.
  uint64_t x = 0x9e3779b97f4a7c15u + static_cast<uint64_t>(state.thread_index());
  for (int i = objects - 1; i > 0; --i) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    std::swap(held[i], held[static_cast<int>((x >> 33) % static_cast<uint64_t>(i + 1))]);
  }
  int window = 0;
  for (auto _ : state) {
    void** batch = held.data() + window * kBatch;
    list.InsertRange(batch, kBatch);
    if (list.RemoveRange(batch, kBatch) != kBatch) state.SkipWithError("out of memory");
    window = (window + 1) % (objects / kBatch);
  }
  list.InsertRange(held.data(), objects);
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_CentralFreeListBatchRoundTrip)
    ->Arg(64)
    ->Arg(4096)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

}  // namespace
}  // namespace rseqmalloc

// Microbenchmarks of the back end's pieces: size-class lookup, pagemap lookup, page heap
// New/Delete by size, release, and the spin lock. Run:
//   bazel run //tests/allocator:backend_benchmark -- --benchmark_repetitions=5
#include <string.h>

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

}  // namespace
}  // namespace rseqmalloc

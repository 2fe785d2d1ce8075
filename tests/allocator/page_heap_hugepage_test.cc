// The page heap's hugepage policy and prompt release (docs/page_heap.md, "Hugepages" and
// "Giving memory back"): placement of small spans, alignment of large ones, which hugepages a
// partial release leaves alone, the high-water release, and the hugepage coverage statistics
// checked against the kernel's AnonHugePages.
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <vector>

#include "allocator/hugepage_system.h"
#include "allocator/page_heap.h"
#include "gtest/gtest.h"
#include "tests/allocator/fresh_page_heap.h"

namespace rseqmalloc {
namespace {

// A field of /proc/self/smaps_rollup, in bytes (-1 if missing).
long long Rollup(const char* field) {
  FILE* f = fopen("/proc/self/smaps_rollup", "r");
  if (f == nullptr) return -1;
  char line[256];
  long long kb = -1;
  const size_t len = strlen(field);
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (strncmp(line, field, len) == 0 && line[len] == ':') kb = atoll(line + len + 1);
  }
  fclose(f);
  return kb < 0 ? -1 : kb * 1024;
}

size_t HugepageOf(const Span* s) { return s->first_page / kPagesPerHugePage; }

// Two hugepages full of one-page spans, the first of them starting on a hugepage boundary.
std::vector<Span*> TwoFullHugepages(PageHeap* heap) {
  std::vector<Span*> spans;
  Span* s = heap->NewSmall(1);
  while (s->first_page % kPagesPerHugePage != 0) {  // the region starts aligned: rarely loops
    spans.push_back(s);
    s = heap->NewSmall(1);
  }
  for (Span* early : spans) heap->Delete(early);
  spans.assign(1, s);
  for (size_t i = 1; i < 2 * kPagesPerHugePage; ++i) spans.push_back(heap->NewSmall(1));
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_EQ(spans[i]->first_page, spans[0]->first_page + i);
  }
  return spans;
}

TEST(PageHeapHugepageTest, SmallSpansGoToTheFullestHugepage) {
  PageHeap* heap = FreshHeap();
  heap->set_prompt_release(false);
  std::vector<Span*> spans = TwoFullHugepages(heap);
  const size_t fuller = HugepageOf(spans[kPagesPerHugePage]);
  // Free every other page: 20 of the second hugepage first, then 128 of the first, so that
  // the sparser hugepage's holes are the most recently freed.
  for (size_t i = 0; i < 20; ++i) heap->Delete(spans[kPagesPerHugePage + 2 * i + 1]);
  for (size_t i = 0; i < kPagesPerHugePage / 2; ++i) heap->Delete(spans[2 * i + 1]);
  for (int i = 0; i < 20; ++i) {
    Span* s = heap->NewSmall(1);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(HugepageOf(s), fuller) << "span " << i << " went to the sparser hugepage";
  }
}

TEST(PageHeapHugepageTest, LargeAllocationsStartOnAHugepage) {
  PageHeap* heap = FreshHeap();
  heap->set_prompt_release(false);
  ASSERT_NE(heap->New(3), nullptr);  // the rest of the region starts off the boundary
  for (size_t pages : {kPagesPerHugePage, kPagesPerHugePage * 3 + 7}) {
    Span* s = heap->New(pages);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->first_page % kPagesPerHugePage, 0u) << pages << " pages";
  }
  // Smaller ones are not aligned (they would waste the pages skipped).
  Span* small = heap->New(kPagesPerHugePage / 2);
  ASSERT_NE(small, nullptr);
  EXPECT_EQ(small->first_page % kPagesPerHugePage, 3u);
}

// Two hugepages full of one-page spans in a heap past the eager-marking threshold (17 MiB of
// small spans before them), THP mode madvise: both were marked before their first touch and
// are believed backed. Empty where the kernel has no transparent hugepages.
std::vector<Span*> TwoBackedHugepages(PageHeap* heap) {
  std::vector<Span*> spans;
  if (GetThpMode() == ThpMode::kNever) return spans;
  heap->set_prompt_release(false);
  Span* s = nullptr;
  for (size_t i = 0; i < ((size_t{17} << 20) >> kPageShift) || s->first_page % kPagesPerHugePage;
       ++i) {
    s = heap->NewSmall(1);
    EXPECT_NE(s, nullptr);
    if (s == nullptr) return spans;
  }
  spans.push_back(s);
  for (size_t i = 1; i < 2 * kPagesPerHugePage; ++i) spans.push_back(heap->NewSmall(1));
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_EQ(spans[i]->first_page, spans[0]->first_page + i);
  }
  EXPECT_GE(heap->GetStats().hugepage_backed_bytes, 2 * kHugePageSize);
  return spans;
}

TEST(PageHeapHugepageTest, PartialReleaseLeavesMostlyUsedHugepagesIntact) {
  PageHeap* heap = FreshHeap();
  std::vector<Span*> spans = TwoBackedHugepages(heap);
  if (spans.empty() && !HasFailure()) GTEST_SKIP() << "transparent hugepages are off (never)";
  if (HasFailure()) return;
  // Holes in the first hugepage (mostly used, backed), and the second hugepage wholly free.
  for (size_t i = 0; i < 10; ++i) heap->Delete(spans[2 * i + 1]);
  for (size_t i = kPagesPerHugePage; i < spans.size(); ++i) heap->Delete(spans[i]);
  // Free now: the holes, the empty hugepage and whatever else of the region was touched
  // earlier (nothing: the rest of the region is a returned run).
  const size_t released = heap->ReleaseFree(size_t{64} << 20);
  EXPECT_EQ(released, kHugePageSize) << "only the empty hugepage should go";
  EXPECT_EQ(heap->GetStats().free_bytes, 10 * kPageSize);
  // Releasing everything (malloc_trim) takes the holes too.
  EXPECT_EQ(heap->ReleaseFree(0), 10 * kPageSize);
}

// A piece of a mostly used hugepage is passed over, not a reason to stop: smaller runs in
// sparse hugepages are still released. (Stopping there kept 1000 MiB of a heap that had freed
// 90 % of itself resident in the runner's memory_return, where 200 MiB had been reached.)
TEST(PageHeapHugepageTest, ReleasePassesOverMostlyUsedHugepagesAndGoesOn) {
  PageHeap* heap = FreshHeap();
  std::vector<Span*> spans = TwoBackedHugepages(heap);
  if (spans.empty() && !HasFailure()) GTEST_SKIP() << "transparent hugepages are off (never)";
  if (HasFailure()) return;
  // The largest free run: 100 pages of the first hugepage, which keeps 156 in use.
  for (size_t i = 50; i < 150; ++i) heap->Delete(spans[i]);
  // Five runs of 40 pages in the second one, which keeps 56 in use.
  for (size_t run = 0; run < 5; ++run) {
    for (size_t i = 0; i < 40; ++i) heap->Delete(spans[kPagesPerHugePage + run * 50 + i]);
  }
  const size_t released = heap->ReleaseFree(size_t{64} << 20);
  EXPECT_EQ(released, 200 * kPageSize) << "the sparse hugepage's runs should all go";
  EXPECT_EQ(heap->GetStats().free_bytes, 100 * kPageSize) << "the backed hugepage was split";
  Span* kept = heap->pagemap()->GetSpan(spans[50]->first_page);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->state, Span::State::kFree);
}

// The peak windows' clock, moved by hand: on a loaded machine the loops below may take longer
// than a window, which must not change what the test sees.
uint64_t g_fake_ms = 1000;
uint64_t FakeClockMs() { return g_fake_ms; }

TEST(PageHeapHugepageTest, FreeMemoryAboveTheHighWaterMarkIsReleasedPromptly) {
  PageHeap* heap = FreshHeap();
  heap->set_clock_for_testing(FakeClockMs);
  heap->set_prompt_release(true);  // off by default (RSEQMALLOC_PROMPT_RELEASE)
  // A loop of blocks below the floor never releases: no page faults on reuse.
  for (int i = 0; i < 50; ++i) {
    Span* s = heap->New((size_t{8} << 20) >> kPageShift);
    ASSERT_NE(s, nullptr);
    memset(s->start(), 1, size_t{8} << 20);
    heap->Delete(s);
  }
  EXPECT_EQ(heap->GetStats().prompt_releases, 0u);
  EXPECT_EQ(heap->GetStats().release_calls, 0u);
  // A big block freed and allocated again is not released either: the marks count from the
  // heap's recent peak, which the block is part of.
  const size_t big = size_t{96} << 20;
  for (int i = 0; i < 5; ++i) {
    Span* s = heap->New(big >> kPageShift);
    ASSERT_NE(s, nullptr);
    memset(s->start(), 1, big);
    heap->Delete(s);
  }
  EXPECT_EQ(heap->GetStats().prompt_releases, 0u);
  // Once the peak is more than two windows old (the heap shrank), the next Delete releases
  // down to the low-water mark of what is in use now.
  Span* s = heap->New(big >> kPageShift);
  ASSERT_NE(s, nullptr);
  Span* small = heap->New(1);
  ASSERT_NE(small, nullptr);
  heap->Delete(s);
  EXPECT_EQ(heap->GetStats().prompt_releases, 0u);
  g_fake_ms += 3 * PageHeap::kPeakWindowMs;
  heap->Delete(small);
  const PageHeap::Stats st = heap->GetStats();
  EXPECT_EQ(st.prompt_releases, 1u);
  EXPECT_LE(st.free_bytes, PageHeap::LowWater(st.in_use_bytes) + kHugePageSize);
  EXPECT_GE(st.free_bytes + kHugePageSize, PageHeap::LowWater(st.in_use_bytes));
}

// Spans of these lengths back to back at the start of a fresh region, then a one-page guard
// and a filler that leave the region full: what a test frees is then all the free memory.
std::vector<Span*> SpansFillingARegion(PageHeap* heap, const std::vector<size_t>& lengths) {
  std::vector<Span*> spans;
  size_t used = 0;
  for (size_t n : lengths) {
    Span* s = heap->New(n);
    EXPECT_NE(s, nullptr);
    if (s == nullptr) return spans;
    if (!spans.empty()) EXPECT_EQ(s->first_page, spans.back()->first_page + spans.back()->num_pages);
    spans.push_back(s);
    used += n;
  }
  EXPECT_NE(heap->New(1), nullptr);                                                   // a guard
  EXPECT_NE(heap->New((PageHeap::kMinGrowBytes >> kPageShift) - used - 1), nullptr);  // filler
  return spans;
}

TEST(PageHeapHugepageTest, FreeAndReturnedNeighboursServeARequestTogether) {
  PageHeap* heap = FreshHeap();
  heap->set_prompt_release(false);
  const std::vector<Span*> spans = SpansFillingARegion(heap, {200, 200});
  if (HasFailure()) return;
  const PageId a_first = spans[0]->first_page;
  heap->Delete(spans[0]);
  heap->ReleaseFree(0);    // a's pages: a returned run
  heap->Delete(spans[1]);  // b's pages: a free run beside it
  const size_t grows = heap->GetStats().grows;
  Span* both = heap->New(400);
  ASSERT_NE(both, nullptr);
  EXPECT_EQ(both->first_page, a_first) << "served by growing instead of merging";
  const PageHeap::Stats st = heap->GetStats();
  EXPECT_EQ(st.grows, grows);
  EXPECT_EQ(st.mixed_merges, 1u);
  EXPECT_EQ(st.system_bytes, st.free_bytes + st.returned_bytes + st.in_use_bytes);
  memset(both->start(), 1, both->bytes());
}

// Free runs separated by short returned runs (what aligning large blocks to hugepages leaves
// between them) serve a request together before the heap grows.
TEST(PageHeapHugepageTest, AChainOfFreeAndReturnedRunsServesARequest) {
  PageHeap* heap = FreshHeap();
  heap->set_prompt_release(false);
  const std::vector<Span*> spans = SpansFillingARegion(heap, {200, 10, 200});
  if (HasFailure()) return;
  const PageId a_first = spans[0]->first_page;
  heap->Delete(spans[1]);
  heap->ReleaseFree(0);    // the gap: a returned run
  heap->Delete(spans[0]);  // free runs on both sides of it
  heap->Delete(spans[2]);
  const size_t grows = heap->GetStats().grows;
  Span* all = heap->New(410);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(all->first_page, a_first) << "served by growing instead of merging the chain";
  const PageHeap::Stats st = heap->GetStats();
  EXPECT_EQ(st.grows, grows);
  EXPECT_EQ(st.free_runs + st.returned_runs, 0u) << "a piece of the chain was left behind";
  EXPECT_EQ(st.system_bytes, st.free_bytes + st.returned_bytes + st.in_use_bytes);
  memset(all->start(), 1, all->bytes());
  heap->Delete(all);
  EXPECT_EQ(heap->GetStats().free_runs, 1u) << "the chain's pages did not merge back into one run";
}

TEST(PageHeapHugepageTest, SpansSayWhetherTheyReadZero) {
  PageHeap* heap = FreshHeap();
  heap->set_prompt_release(false);
  Span* s = heap->New(40);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->zeroed) << "a fresh region reads zero";
  memset(s->start(), 0x5a, s->bytes());
  heap->Delete(s);
  s = heap->New(40);
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->zeroed) << "a reused free run holds old data";
  heap->Delete(s);
  heap->ReleaseFree(0);
  s = heap->New(40);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->zeroed) << "a released run reads zero";
  const auto* bytes = static_cast<const unsigned char*>(s->start());
  for (size_t i = 0; i < s->bytes(); i += 512) ASSERT_EQ(bytes[i], 0) << i;
}

// The mode decides what the heap asks for (the mode is forced here; the kernel's own setting
// then only decides what the process really gets, which this test does not look at).
TEST(PageHeapHugepageTest, ThpModeNeverAndAlwaysMakeNoMarkingCalls) {
  const ThpMode real = GetThpMode();
  const size_t count = (size_t{32} << 20) >> kPageShift;
  for (ThpMode mode : {ThpMode::kNever, ThpMode::kAlways, ThpMode::kMadvise}) {
    SetThpModeForTesting(mode);
    PageHeap* heap = FreshHeap();
    heap->set_prompt_release(false);
    for (size_t i = 0; i < count; ++i) ASSERT_NE(heap->NewSmall(1), nullptr);
    const PageHeap::Stats st = heap->GetStats();
    if (mode == ThpMode::kMadvise) {
      // A kernel without THP refuses the marking (and the heap takes its marks back).
      if (real == ThpMode::kNever) continue;
      // Past 16 MiB in use every new hugepage is marked before use; before that, each one
      // when 7/8 full.
      EXPECT_EQ(st.hugepage_advised_bytes, size_t{32} << 20);
      EXPECT_GE(st.hugepage_backed_bytes, size_t{16} << 20);
    } else {
      EXPECT_EQ(st.hugepage_advised_bytes, 0u) << ThpModeName(mode);
      // always: every hugepage is believed backed from its first touch; never: none.
      EXPECT_EQ(st.hugepage_backed_bytes, mode == ThpMode::kAlways ? size_t{32} << 20 : 0u)
          << ThpModeName(mode);
    }
  }
  SetThpModeForTesting(real);
}

// Large blocks may be touched sparsely (stress-ng's malloc stressor writes one word of blocks
// of up to 16 MiB), so they neither make the heap mark hugepages eagerly nor get a hugepage
// they share with small spans marked: the mark would make their untouched pages resident.
TEST(PageHeapHugepageTest, LargeBlocksAreNeverPartOfAMarkedHugepage) {
  const ThpMode real = GetThpMode();
  if (real == ThpMode::kNever) GTEST_SKIP() << "transparent hugepages are off (never)";
  SetThpModeForTesting(ThpMode::kMadvise);
  PageHeap* heap = FreshHeap();
  heap->set_prompt_release(false);
  // 32 MiB of large blocks in use: not a reason to mark hugepages of small spans eagerly.
  ASSERT_NE(heap->New((size_t{32} << 20) >> kPageShift), nullptr);
  ASSERT_NE(heap->NewSmall(1), nullptr);
  EXPECT_EQ(heap->GetStats().hugepage_advised_bytes, 0u) << "marked for large blocks' sake";
  // 17 MiB of small spans: from now on each new hugepage of small spans is marked at first use.
  for (size_t i = 0; i < ((size_t{17} << 20) >> kPageShift); ++i) {
    ASSERT_NE(heap->NewSmall(1), nullptr);
  }
  const size_t advised = heap->GetStats().hugepage_advised_bytes;
  EXPECT_GE(advised, size_t{1} << 20) << "eager marking never started";
  // A block of a hugepage and one page ends one page into hugepage h, whose other 255 pages
  // are a short free run: small spans come there after the holes its alignment left, and the
  // one that lands in h must not mark it (a one-page span touches one hugepage only).
  Span* block = heap->New(kPagesPerHugePage + 1);
  ASSERT_NE(block, nullptr);
  ASSERT_EQ(block->first_page % kPagesPerHugePage, 0u);
  const size_t h = HugepageOf(block) + 1;
  bool reached = false;
  for (size_t i = 0; i < 2 * kPagesPerHugePage && !reached; ++i) {
    const size_t before = heap->GetStats().hugepage_advised_bytes;
    Span* s = heap->NewSmall(1);
    ASSERT_NE(s, nullptr);
    if (HugepageOf(s) != h) continue;
    reached = true;
    EXPECT_EQ(heap->GetStats().hugepage_advised_bytes, before)
        << "the hugepage holding the large block's last page was marked";
  }
  ASSERT_TRUE(reached) << "no small span came into the block's last hugepage";
  const size_t advised_with_block = heap->GetStats().hugepage_advised_bytes;
  // Once the block is gone, h holds only small spans and is marked at its next small span.
  heap->Delete(block);
  bool marked = false;
  for (size_t i = 0; i < 2 * kPagesPerHugePage && !marked; ++i) {
    Span* s = heap->NewSmall(1);
    ASSERT_NE(s, nullptr);
    marked = HugepageOf(s) == h && heap->GetStats().hugepage_advised_bytes > advised_with_block;
  }
  EXPECT_TRUE(marked) << "h was not marked once only small spans used it";
  SetThpModeForTesting(real);
}

TEST(PageHeapHugepageTest, CoverageMatchesAnonHugePages) {
  const ThpMode mode = GetThpMode();
  if (mode == ThpMode::kNever) GTEST_SKIP() << "transparent hugepages are off (never)";
  PageHeap* heap = FreshHeap();
  heap->set_prompt_release(false);
  const long long before = Rollup("AnonHugePages");
  if (before < 0) GTEST_SKIP() << "no AnonHugePages in /proc/self/smaps_rollup";
  // 64 MiB of one-page spans, each touched as the central free list's objects would be.
  const size_t count = (size_t{64} << 20) >> kPageShift;
  std::vector<Span*> spans;
  for (size_t i = 0; i < count; ++i) {
    Span* s = heap->NewSmall(1);
    ASSERT_NE(s, nullptr);
    memset(s->start(), 7, kPageSize);
    spans.push_back(s);
  }
  // What the background release thread does: collapse the full hugepages of the first 16 MiB
  // that allocations queued (the allocations themselves never wait for a collapse).
  EXPECT_EQ(heap->GetStats().hugepage_collapses, 0u) << "an allocation collapsed a hugepage";
  const size_t collapsed = heap->CollapsePending();
  const PageHeap::Stats st = heap->GetStats();
  EXPECT_EQ(st.hugepage_collapses, collapsed);
  const long long anon = Rollup("AnonHugePages") - before;
  printf("THP %s: heap view %zu MiB backed (%zu advised, %zu collapses), kernel %lld MiB\n",
         ThpModeName(mode), st.hugepage_backed_bytes >> 20, st.hugepage_advised_bytes >> 20,
         st.hugepage_collapses, anon >> 20);
  if (anon <= 0) GTEST_SKIP() << "the kernel gave no hugepages (fragmented memory, defrag off?)";
  // Past the first 16 MiB every hugepage is advised before its first touch (48 MiB); the
  // first 16 MiB are collapsed when full where MADV_COLLAPSE works. The kernel may fall short
  // of hugepages, not the other way round (bar a few khugepaged made on its own).
  EXPECT_GE(st.hugepage_backed_bytes, size_t{44} << 20);
  EXPECT_LE(static_cast<size_t>(anon), st.hugepage_backed_bytes + (size_t{4} << 20));
  EXPECT_GE(static_cast<size_t>(anon) + (size_t{8} << 20), st.hugepage_backed_bytes)
      << "the heap claims hugepages the kernel did not give";
  // Releasing it all gives the hugepages back, in the statistics and in the kernel's view.
  for (Span* s : spans) heap->Delete(s);
  heap->ReleaseFree(0);
  EXPECT_EQ(heap->GetStats().hugepage_backed_bytes, 0u);
  EXPECT_LE(Rollup("AnonHugePages") - before, (4LL << 20));
}

}  // namespace
}  // namespace rseqmalloc

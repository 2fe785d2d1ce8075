// The page heap: runs of pages, handed out as spans, taken back and coalesced, and given back
// to the OS on request. See docs/page_heap.md for the policies and why.
#ifndef RSEQMALLOC_ALLOCATOR_PAGE_HEAP_H_
#define RSEQMALLOC_ALLOCATOR_PAGE_HEAP_H_

#include <stddef.h>
#include <stdint.h>

#include "allocator/common.h"
#include "allocator/hugepage_table.h"
#include "allocator/metadata_arena.h"
#include "allocator/page_map.h"
#include "allocator/span.h"
#include "allocator/span_list.h"
#include "allocator/spin_lock.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc {

class PageHeap {
 public:
  // Runs of up to this many pages live in exact-size lists; longer ones in size buckets.
  static constexpr size_t kMaxExactPages = 128;
  // Longer runs: 4 buckets per power of two of the length (129..2^35 pages), each a list
  // sorted by (num_pages, first_page). Together they are one ordered structure, and an insert
  // only walks runs of about the same length.
  static constexpr size_t kLargeBuckets = 4 * (35 - 7 + 1);
  // Address space is reserved in regions of at least this much, aligned to a hugepage. Not
  // more: regions are seldom adjacent, so a block rarely spans two, and blocks of up to half a
  // region fragment it (docs/page_heap.md: large_blocks peaked at 198 MB with 64 MiB regions,
  // 134 MB with 32).
  static constexpr size_t kMinGrowBytes = size_t{32} << 20;
  // Requests above half the address space cannot succeed; refusing them early also keeps every
  // page count below this and every byte count below 2^47, so nothing later overflows.
  static constexpr size_t kMaxRequestPages = (size_t{1} << (kAddressBits - 1)) >> kPageShift;
  // Largest alignment NewAligned accepts, in pages (what SystemAlloc can align to: 1 GiB).
  static constexpr size_t kMaxAlignPages = (size_t{1} << 30) >> kPageShift;

  // The process has one heap on g_pagemap. Tests build more heaps, each on its own map: heaps
  // sharing a map would see (and merge) each other's runs when their regions are adjacent.
  // Every member of the process's heap starts zero (pagemap_ and clock_ms_ null for their
  // defaults), so that g_page_heap, 260 KiB with its hugepage table's root, lives in .bss:
  // only the pages the heap touches become resident. In .data the kernel's fault-around made
  // 130-200 KiB of it resident in every program.
  constexpr PageHeap() = default;
  constexpr explicit PageHeap(PageMap* pagemap) : pagemap_(pagemap) {}
  PageHeap(const PageHeap&) = delete;
  PageHeap& operator=(const PageHeap&) = delete;

  // A span of num_pages pages in state kLarge, its first and last page mapped to it in the
  // pagemap (the interior entries are unspecified: whoever carves the span into small objects
  // maps them), its small-object fields zero. nullptr with errno = ENOMEM when the system has no memory (or the
  // size is absurd). Memory from a fresh or released run reads zero; from a reused free run it
  // holds old data.
  Span* New(size_t num_pages) { return NewAligned(num_pages, 1); }
  // Same, for a span the central free list carves into small objects: it is placed in the
  // fullest hugepage that has room, and counts towards making that hugepage dense.
  Span* NewSmall(size_t num_pages) { return NewImpl(num_pages, 1, true); }
  // Same, with the first page a multiple of align_pages (a power of two, <= kMaxAlignPages;
  // otherwise nullptr with errno = EINVAL).
  Span* NewAligned(size_t num_pages, size_t align_pages) {
    return NewImpl(num_pages, align_pages, false);
  }

  // Takes back a span from New (state kLarge or kSmall). Clears its size classes and pagemap
  // entries, then merges it with free (not returned) neighbours. Makes no syscall unless the
  // free memory then exceeds the high-water mark (see ReleaseExcess).
  void Delete(Span* span);

  // Free (resident) memory beyond this is released promptly by Delete, down to the low-water
  // mark: a fixed floor plus a fraction of the bytes in use, so that a loop allocating and
  // freeing blocks of up to the floor never releases (no refaults), while a heap whose use
  // shrank does not keep its peak resident until the next decay tick.
  static constexpr size_t kHighWaterFloor = size_t{32} << 20;
  static constexpr size_t kLowWaterFloor = size_t{16} << 20;
  static size_t HighWater(size_t in_use) { return kHighWaterFloor + in_use / 8; }
  static size_t LowWater(size_t in_use) { return kLowWaterFloor + in_use / 16; }
  // The prompt release measures the marks from the heap's peak in use over the last one to
  // two windows of this length, plus the free memory needed to get back to that peak.
  static constexpr uint64_t kPeakWindowMs = 250;
  // Off by default (RSEQMALLOC_PROMPT_RELEASE turns it on): until free and returned runs merge
  // at free time, a heap of fragmented multi-MiB blocks passes the mark while it is still
  // reusing its memory, and a loop of 1-32 MiB blocks released and refaulted 6 times in 2 s
  // (4x slower than with the decay alone).
  void set_prompt_release(bool on) { prompt_release_ = on; }
  // The clock of the peak windows (CoarseMonotonicMs); tests drive it by hand, so that a loaded
  // machine's slowness cannot move their phases into another window.
  void set_clock_for_testing(uint64_t (*clock_ms)()) { clock_ms_ = clock_ms; }

  // Collapses (MADV_COLLAPSE) the hugepages that became full of small spans while mapped by
  // small pages, queued by allocations. Called by the background release thread only: under
  // memory pressure one collapse took over a minute (direct compaction for a free hugepage),
  // and allocating threads queued behind it in madvise. Returns the collapses that succeeded.
  size_t CollapsePending();

  // Grows a kLarge span to new_pages in place, by taking the front of the free (or released)
  // run that directly follows it. False when that run is missing or too short; the span is
  // then unchanged. What realloc() of a large block tries before it copies.
  bool ExtendInPlace(Span* span, size_t new_pages);
  // Shrinks a kLarge span to new_pages (>= 1) in place: its tail becomes a free run, as if
  // deleted. False only when no spare span object can be had (the span is then unchanged).
  bool ShrinkInPlace(Span* span, size_t new_pages);

  // Releases up to `bytes` (0 = all) of free runs to the OS with madvise(MADV_DONTNEED),
  // largest runs first and in whole 2 MiB hugepages where possible; the madvise calls happen
  // with the lock dropped. Returns the number of bytes released: it may exceed `bytes`, by the
  // rounding to hugepages, or by a whole run when no spare span is at hand to split it.
  size_t ReleaseFree(size_t bytes);

  struct Stats {
    size_t system_bytes;    // address space obtained from the system (never shrinks)
    size_t free_bytes;      // in free runs, possibly resident
    size_t returned_bytes;  // in free runs released to the OS (or never touched)
    size_t in_use_bytes;    // in spans handed out by New
    size_t large_allocs;    // spans handed out by New and not yet Deleted
    // Added beyond the lead's interface:
    size_t total_allocs;    // New/NewAligned successes since start
    size_t grows;           // regions obtained from the system
    size_t release_calls;   // madvise calls made by ReleaseFree
    size_t released_bytes;  // bytes ReleaseFree has released since start
    size_t free_runs;       // runs in the free (non-returned) lists
    size_t returned_runs;   // runs in the returned lists
    size_t prompt_releases;  // releases made by Delete above the high-water mark
    size_t mixed_merges;     // free runs merged with returned neighbours to avoid a growth
    // Hugepages (docs/page_heap.md): bytes in 2 MiB hugepages the heap believes are backed by
    // one (advised before their first touch, or under THP=always, or collapsed; not partly
    // released since), bytes marked MADV_HUGEPAGE, and MADV_COLLAPSE calls that succeeded.
    size_t hugepage_backed_bytes;
    size_t hugepage_advised_bytes;
    size_t hugepage_collapses;
  };
  Stats GetStats();

  // For fork handlers (and tests). Never held across a syscall.
  SpinLock& lock() { return lock_; }

  // Takes every lock the back end uses (pagemap, span pool, metadata arena, then the heap's
  // own, an order no other path contradicts) so that fork() cannot copy one held by another
  // thread. Call from pthread_atfork's prepare; UnlockAllAfterFork from parent and child.
  void LockAllForFork();
  void UnlockAllAfterFork();

  PageMap* pagemap() const { return pagemap_ != nullptr ? pagemap_ : &g_pagemap; }

 private:
  // One set of lists per free state (kFree, kReturned).
  struct RunLists {
    SpanList exact[kMaxExactPages + 1];  // index = run length in pages
    SpanList large[kLargeBuckets];       // each sorted by (num_pages, first_page)
    uint64_t nonempty[(kMaxExactPages + 64) / 64] = {};  // bit i: exact[i] not empty
    uint64_t large_nonempty[(kLargeBuckets + 63) / 64] = {};
    size_t runs = 0;
  };

  // Hugepage calls decided under the lock and made after it is dropped.
  struct HugepageWork {
    HugePageId advise_first = 0;  // [advise_first, advise_end) to mark MADV_HUGEPAGE
    HugePageId advise_end = 0;
  };

  // A split makes at most two new runs (before and after the piece taken).
  static constexpr size_t kSparesNeeded = 2;

  Span* NewImpl(size_t num_pages, size_t align_pages, bool small);
  Span* MergeMixedLocked(size_t n);
  void NoteInUseLocked(PageId first, size_t n, bool small, HugepageWork* work);
  // Hugepages (at most two, 0 = none) whose use fell to half or below by a Delete.
  struct HugepageCrossing {
    HugePageId ids[2] = {0, 0};
  };
  HugepageCrossing NoteNotInUseLocked(PageId first, size_t n, bool small);
  void DemoteRunsOfHugepageLocked(HugePageId h);
  // Pages [lead, lead + n) of run (free or returned, in the lists) are taken for use: the rest
  // of it stays in the lists, the counters and the hugepage table follow. The span returned
  // still has the run's state (kFree or kReturned): whether its pages read zero. What New does
  // for a new span and ExtendInPlace for a span's new tail.
  Span* TakeLocked(Span* run, size_t lead, size_t n, bool small, HugepageWork* work);
  // Pages [first, first + n) of a span handed out (placed by NewSmall or not) come back: run
  // becomes a free run of them, merged with its neighbours; the counters and the hugepage table
  // follow. What Delete does for a whole span and ShrinkInPlace for a tail.
  void GiveBackLocked(Span* run, PageId first, size_t n, bool small);
  void NoteReleasedLocked(PageId first, size_t n);
  void DoHugepageWork(const HugepageWork& work);
  bool MostlyUsedHugepageLocked(PageId first, size_t n);
  static size_t AlignLeadToHugepage(PageId first) {
    return (0 - first) & (kPagesPerHugePage - 1);
  }
  // How much a small span should want the hugepage of page p: its pages in use, or 0 when part
  // of it is a large block's (such a hugepage is never marked, so small spans there would
  // not get a hugepage; they fill hugepages of other small spans first).
  size_t SmallPlacementScoreLocked(PageId p) {
    const HugePageEntry& e = hugepages_.At(HugePageOfPage(p));
    return e.large_pages != 0 ? 0 : e.used_pages;
  }
  void ReleaseExcess();
  void RotatePeakLocked(uint64_t now_ms);
  size_t RecentPeakLocked() const;
  size_t WantedAgainLocked() const;  // free memory that takes the heap back to its recent peak

  RunLists& ListsFor(Span::State state) {
    return state == Span::State::kFree ? free_ : returned_;
  }
  void InsertLocked(Span* s);
  void RemoveLocked(Span* s);
  Span* FindLocked(size_t n, size_t align, bool small, size_t* lead);
  Span* FindInLocked(RunLists& lists, size_t n, size_t align, bool small, size_t* lead,
                     size_t* found_pages);
  Span* LargestFreeRunLocked();
  Span* CarveLocked(Span* run, size_t lead, size_t n);
  void MergeAndInsertLocked(Span* s);
  Span* TakeSpareLocked();
  void PutSpareLocked(Span* s);
  bool EnsureSpares();
  bool Grow(size_t n, size_t align);

  PageMap* const pagemap_ = nullptr;  // nullptr: g_pagemap
  SpinLock lock_;
  RunLists free_;
  RunLists returned_;
  // Span objects reserved outside the lock, so that splitting a run under the lock never has
  // to allocate metadata (which may mmap). Also where merged-away spans go.
  Span* spares_ = nullptr;
  size_t spare_count_ = 0;  // read without the lock as a hint
  ObjectPool<Span> span_pool_;

  size_t system_bytes_ = 0;
  size_t free_bytes_ = 0;
  size_t returned_bytes_ = 0;
  size_t in_use_bytes_ = 0;
  size_t small_in_use_bytes_ = 0;  // the part of in_use_bytes_ in spans placed by NewSmall
  size_t live_spans_ = 0;
  size_t total_allocs_ = 0;
  size_t grows_ = 0;
  size_t release_calls_ = 0;
  size_t released_bytes_ = 0;
  size_t prompt_releases_ = 0;
  size_t mixed_merges_ = 0;
  bool prompt_release_ = false;
  uint64_t (*clock_ms_)() = nullptr;  // nullptr: CoarseMonotonicMs
  uint64_t NowMs() const { return clock_ms_ != nullptr ? clock_ms_() : CoarseMonotonicMs(); }
  size_t next_prompt_free_ = 0;  // Delete releases only when free_bytes_ is above this too
  // The heap's recent peak in use, over two windows of kPeakWindowMs (see Delete): the peak of
  // the window that began at window_start_ms_ (raised by New) and of the one before it.
  size_t current_peak_ = 0;
  size_t previous_peak_ = 0;
  uint64_t window_start_ms_ = 0;

  HugePageTable hugepages_;
  size_t backed_hugepages_ = 0;
  size_t advised_hugepages_ = 0;
  size_t collapses_ = 0;
  // Full, advised, unbacked hugepages waiting for CollapsePending (a hugepage that finds the
  // queue full is not marked tried, so a later allocation in it queues it again).
  static constexpr int kMaxPendingCollapses = 16;
  HugePageId pending_collapses_[kMaxPendingCollapses] = {};
  int num_pending_collapses_ = 0;
};

extern PageHeap g_page_heap;

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_PAGE_HEAP_H_

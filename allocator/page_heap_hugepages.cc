// The page heap's hugepage policy: which 2 MiB hugepages to mark MADV_HUGEPAGE or collapse,
// and what the heap believes is backed by hugepages. See docs/page_heap.md ("Hugepages").
#include "allocator/hugepage_system.h"
#include "allocator/locked_section.h"
#include "allocator/page_heap.h"

namespace rseqmalloc {
namespace {

// A hugepage this full of spans is marked even in a small heap (and khugepaged may then back
// it, costing at most the unused eighth), and one wholly full of small spans is collapsed.
constexpr size_t kDensePages = kPagesPerHugePage * 7 / 8;
// Once this much of the heap is in small-object spans, hugepages are marked at their first
// use, before any page of them is touched, so that the first fault maps a whole hugepage.
// Below it a program's small objects are few, and rounding their few hugepages up to 2 MiB
// would be most of their footprint. Large blocks do not count: a program with big buffers and
// few small objects (stress-ng's malloc stressor) gains nothing from marking.
constexpr size_t kEagerAdviseBytes = size_t{16} << 20;
// A partial release of a hugepage this used is avoided (it would split a hugepage to gain less
// than half of it).
constexpr size_t kMostlyUsedPages = kPagesPerHugePage / 2;

// Calls f(h, pages of [first, first + n) inside h) for every hugepage h the range touches.
template <typename F>
void ForEachHugepage(PageId first, size_t n, F f) {
  const PageId end = first + n;
  for (HugePageId h = HugePageOfPage(first); FirstPageOfHuge(h) < end; ++h) {
    const PageId lo = FirstPageOfHuge(h) > first ? FirstPageOfHuge(h) : first;
    const PageId hi = FirstPageOfHuge(h + 1) < end ? FirstPageOfHuge(h + 1) : end;
    f(h, static_cast<size_t>(hi - lo));
  }
}

}  // namespace

void PageHeap::NoteInUseLocked(PageId first, size_t n, bool small, HugepageWork* work) {
  const ThpMode mode = GetThpMode();  // read (with syscalls) by Grow, before any span exists
  const bool eager = small_in_use_bytes_ >= kEagerAdviseBytes;
  ForEachHugepage(first, n, [&](HugePageId h, size_t pages) {
    HugePageEntry& e = hugepages_.At(h);
    e.used_pages = static_cast<uint16_t>(e.used_pages + pages);
    if (!small) e.large_pages = static_cast<uint16_t>(e.large_pages + pages);
    const bool first_touch = (e.flags & HugePageEntry::kTouched) == 0;
    e.flags |= HugePageEntry::kTouched;
    if (mode == ThpMode::kNever) return;
    // Only small-object spans lead to marking, and only in hugepages that hold no part of a
    // large block: the central free list hands small objects out and they get touched, while a
    // large block may be touched sparsely, and marked it would become resident in whole
    // hugepages. (stress-ng's malloc stressor, blocks up to 16 MiB touched at their first word:
    // 780 MB peak RSS with large blocks marked; 131-162 MB while small spans marked hugepages
    // they shared with the blocks' ends; 32-49 MB now, glibc 48-66.) A hugepage marked before
    // a large block came into it stays marked, and counts as backed.
    if (mode == ThpMode::kMadvise && small && e.large_pages == 0 &&
        (e.flags & HugePageEntry::kAdvised) == 0 && (eager || e.used_pages >= kDensePages)) {
      e.flags |= HugePageEntry::kAdvised;
      ++advised_hugepages_;
      // One madvise for the whole range: hugepages in between that were already marked are
      // marked again, which changes nothing.
      if (work->advise_end == work->advise_first) work->advise_first = h;
      work->advise_end = h + 1;
    }
    const bool eligible = mode == ThpMode::kAlways || (e.flags & HugePageEntry::kAdvised) != 0;
    if (!eligible || (e.flags & HugePageEntry::kBacked) != 0) return;
    if (first_touch) {
      // Nothing of it is mapped yet: its first fault will map a whole hugepage (when the
      // kernel has one free; the statistics cannot see when it has not).
      e.flags |= HugePageEntry::kBacked;
      ++backed_hugepages_;
    } else if (small && e.used_pages == kPagesPerHugePage &&
               (e.flags & HugePageEntry::kCollapseTried) == 0 &&
               num_pending_collapses_ < kMaxPendingCollapses && CollapseAvailable()) {
      // Full of small spans but mapped by small pages (marked after its first touch): worth
      // one copy into a hugepage soon rather than waiting for khugepaged; the background
      // release thread makes it (CollapsePending).
      e.flags |= HugePageEntry::kCollapseTried;
      pending_collapses_[num_pending_collapses_++] = h;
    }
  });
}

PageHeap::HugepageCrossing PageHeap::NoteNotInUseLocked(PageId first, size_t n, bool small) {
  HugepageCrossing crossed;
  size_t count = 0;
  ForEachHugepage(first, n, [&](HugePageId h, size_t pages) {
    HugePageEntry& e = hugepages_.At(h);
    const bool was_busy = e.used_pages > kPagesPerHugePage / 2;
    e.used_pages = static_cast<uint16_t>(e.used_pages - pages);
    if (!small) e.large_pages = static_cast<uint16_t>(e.large_pages - pages);
    // Only a small span's (one or two hugepages) are tracked: a large span's hugepages are
    // mostly wholly free afterwards, and their runs long, outside the exact-length lists.
    if (was_busy && e.used_pages <= kPagesPerHugePage / 2 && count < 2) crossed.ids[count++] = h;
  });
  return crossed;
}

void PageHeap::DemoteRunsOfHugepageLocked(HugePageId h) {
  // Its short free runs were put at the front of their lists while it was well used; small
  // spans should now prefer other hugepages, so they move to the back. Once per crossing,
  // which takes at least half a hugepage of frees: at most two pagemap reads per page freed.
  const PageId first = FirstPageOfHuge(h);
  for (PageId p = first; p < first + kPagesPerHugePage; ++p) {
    Span* s = pagemap()->GetSpan(p);
    // Interior entries may be stale; only a free run that starts here is one.
    if (s == nullptr || s->first_page != p || !s->is_free() || s->num_pages > kMaxExactPages) {
      continue;
    }
    RunLists& lists = ListsFor(s->state);
    lists.exact[s->num_pages].Remove(s);
    lists.exact[s->num_pages].InsertBack(s);
    p += s->num_pages - 1;
  }
}

void PageHeap::NoteReleasedLocked(PageId first, size_t n) {
  ForEachHugepage(first, n, [&](HugePageId h, size_t pages) {
    HugePageEntry& e = hugepages_.At(h);
    // Any release inside a hugepage splits it (or frees it): it is no longer one.
    if ((e.flags & HugePageEntry::kBacked) != 0) --backed_hugepages_;
    e.flags &= static_cast<uint8_t>(~(HugePageEntry::kBacked | HugePageEntry::kCollapseTried));
    if (pages == kPagesPerHugePage) e.flags &= static_cast<uint8_t>(~HugePageEntry::kTouched);
  });
}

bool PageHeap::MostlyUsedHugepageLocked(PageId first, size_t n) {
  const size_t head = AlignLeadToHugepage(first);
  if (head + kPagesPerHugePage <= n) return false;  // holds a whole hugepage: worth releasing
  // Only a hugepage the heap believes is backed by one has anything to lose: releasing part of
  // a hugepage mapped by small pages splits nothing.
  bool mostly_used = false;
  ForEachHugepage(first, n, [&](HugePageId h, size_t) {
    const HugePageEntry& e = hugepages_.At(h);
    if (e.used_pages >= kMostlyUsedPages && (e.flags & HugePageEntry::kBacked) != 0) {
      mostly_used = true;
    }
  });
  return mostly_used;
}

void PageHeap::DoHugepageWork(const HugepageWork& work) {
  if (work.advise_end > work.advise_first) {
    const size_t count = work.advise_end - work.advise_first;
    if (!AdviseHugepages(AddressOf(FirstPageOfHuge(work.advise_first)), count * kHugePageSize)) {
      // The kernel refused (a seccomp filter, an old kernel): take the marks back.
      LockedSection h(&lock_);
      for (HugePageId id = work.advise_first; id < work.advise_end; ++id) {
        HugePageEntry& e = hugepages_.At(id);
        if ((e.flags & HugePageEntry::kAdvised) == 0) continue;
        --advised_hugepages_;
        if ((e.flags & HugePageEntry::kBacked) != 0) --backed_hugepages_;
        e.flags &= static_cast<uint8_t>(~(HugePageEntry::kAdvised | HugePageEntry::kBacked));
      }
    }
  }
}

size_t PageHeap::CollapsePending() {
  HugePageId ids[kMaxPendingCollapses];
  int n;
  {
    LockedSection h(&lock_);
    n = num_pending_collapses_;
    for (int i = 0; i < n; ++i) ids[i] = pending_collapses_[i];
    num_pending_collapses_ = 0;
  }
  // Still queued and not backed: a release since the queueing clears kCollapseTried (collapsing
  // then would make the released pages resident again, and the hugepage is split anyway).
  auto wanted = [](const HugePageEntry& e) {
    return (e.flags & (HugePageEntry::kCollapseTried | HugePageEntry::kBacked)) ==
           HugePageEntry::kCollapseTried;
  };
  size_t done = 0;
  for (int i = 0; i < n; ++i) {
    {
      LockedSection h(&lock_);
      if (!wanted(hugepages_.At(ids[i]))) continue;
    }
    if (!CollapseHugepage(AddressOf(FirstPageOfHuge(ids[i])))) continue;
    LockedSection h(&lock_);
    ++collapses_;
    ++done;
    HugePageEntry& e = hugepages_.At(ids[i]);
    if (wanted(e)) {
      e.flags |= HugePageEntry::kBacked;
      ++backed_hugepages_;
    }
  }
  return done;
}

}  // namespace rseqmalloc

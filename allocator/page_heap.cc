#include "allocator/page_heap.h"

#include <errno.h>

#include "allocator/hugepage_system.h"
#include "allocator/locked_section.h"
#include "allocator/page_map.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc {

RSEQMALLOC_CONSTINIT PageHeap g_page_heap;

namespace {

constexpr size_t kNoRun = PageHeap::kMaxExactPages + 1;
constexpr size_t kBitmapWords = (PageHeap::kMaxExactPages + 64) / 64;
constexpr size_t kSpareRefill = 16;
// Runs of one exact length compared when placing a small span: the one in the fullest hugepage
// wins. Bounds the walk; lists of one length rarely hold more runs than this that matter.
constexpr size_t kPlacementCandidates = 8;

// Smallest i >= from with bit i set and i <= kMaxExactPages, else kNoRun.
size_t NextSetBit(const uint64_t* bits, size_t from) {
  for (size_t w = from / 64; w < kBitmapWords; ++w) {
    uint64_t word = bits[w];
    if (w == from / 64) word &= ~uint64_t{0} << (from % 64);
    if (word != 0) {
      const size_t i = w * 64 + static_cast<size_t>(__builtin_ctzll(word));
      return i <= PageHeap::kMaxExactPages ? i : kNoRun;
    }
  }
  return kNoRun;
}

// Largest i with bit i set, else 0 (list 0 is never used).
size_t LastSetBit(const uint64_t* bits) {
  for (size_t w = kBitmapWords; w-- > 0;) {
    if (bits[w] != 0) return w * 64 + 63 - static_cast<size_t>(__builtin_clzll(bits[w]));
  }
  return 0;
}

// Bucket of a run longer than kMaxExactPages: 4 per power of two, by the two bits below the
// leading one (129..159 -> 0, 160..191 -> 1, ..., 256..319 -> 4, ...).
inline size_t LargeBucket(size_t pages) {
  const int k = 63 - __builtin_clzll(pages);  // floor(log2(pages)), >= 7
  return static_cast<size_t>(k - 7) * 4 + ((pages >> (k - 2)) & 3);
}

// Smallest set bit >= from among `bits` bits, else `bits`.
size_t NextBucket(const uint64_t* words, size_t from, size_t bits) {
  for (size_t w = from / 64; w * 64 < bits; ++w) {
    uint64_t word = words[w];
    if (w == from / 64) word &= ~uint64_t{0} << (from % 64);
    if (word != 0) {
      const size_t i = w * 64 + static_cast<size_t>(__builtin_ctzll(word));
      return i < bits ? i : bits;
    }
  }
  return bits;
}

// Pages to skip from `first` to reach a multiple of `align`.
inline size_t AlignLead(PageId first, size_t align) { return (0 - first) & (align - 1); }

}  // namespace

void PageHeap::InsertLocked(Span* s) {
  RunLists& lists = ListsFor(s->state);
  const size_t n = s->num_pages;
  if (n <= kMaxExactPages) {
    // Runs in hugepages more than half used go to the front, where small spans look first
    // (FindInLocked): small spans then fill hugepages that are already well used, and the
    // sparse ones drain and can be released whole.
    if (SmallPlacementScoreLocked(s->first_page) > kPagesPerHugePage / 2) {
      lists.exact[n].Insert(s);
    } else {
      lists.exact[n].InsertBack(s);
    }
    lists.nonempty[n / 64] |= uint64_t{1} << (n % 64);
  } else {
    // Kept sorted so that the first fit is the best fit, lower address first among equals
    // (which packs allocations towards the start of regions).
    const size_t b = LargeBucket(n);
    Span* at = lists.large[b].First();
    while (at != nullptr && (at->num_pages < n || (at->num_pages == n && at->first_page < s->first_page))) {
      at = at->next;
    }
    lists.large[b].InsertBefore(at, s);
    lists.large_nonempty[b / 64] |= uint64_t{1} << (b % 64);
  }
  ++lists.runs;
}

void PageHeap::RemoveLocked(Span* s) {
  RunLists& lists = ListsFor(s->state);
  const size_t n = s->num_pages;
  if (n <= kMaxExactPages) {
    lists.exact[n].Remove(s);
    if (lists.exact[n].Empty()) lists.nonempty[n / 64] &= ~(uint64_t{1} << (n % 64));
  } else {
    const size_t b = LargeBucket(n);
    lists.large[b].Remove(s);
    if (lists.large[b].Empty()) lists.large_nonempty[b / 64] &= ~(uint64_t{1} << (b % 64));
  }
  --lists.runs;
}

Span* PageHeap::FindInLocked(RunLists& lists, size_t n, size_t align, bool small, size_t* lead,
                             size_t* found_pages) {
  if (n <= kMaxExactPages) {
    for (size_t len = NextSetBit(lists.nonempty, n); len != kNoRun;
         len = NextSetBit(lists.nonempty, len + 1)) {
      if (small && align == 1) {
        // A span of small objects goes into the fullest hugepage among the best-fitting runs:
        // hugepages then fill up (and can be backed by one) while sparse ones drain and can be
        // released whole.
        Span* best = lists.exact[len].First();
        size_t best_used = SmallPlacementScoreLocked(best->first_page);
        size_t seen = 1;
        for (Span* r = best->next; r != nullptr && seen < kPlacementCandidates; r = r->next, ++seen) {
          const size_t used = SmallPlacementScoreLocked(r->first_page);
          if (used > best_used) {
            best = r;
            best_used = used;
          }
        }
        *lead = 0;
        *found_pages = len;
        return best;
      }
      // Unaligned requests take the first run; aligned ones walk until one fits (any run of
      // n + align - 1 pages or more fits, so the walk is short unless alignment is unusual).
      for (Span* r = lists.exact[len].First(); r != nullptr; r = r->next) {
        const size_t l = AlignLead(r->first_page, align);
        if (l + n <= len) {
          *lead = l;
          *found_pages = len;
          return r;
        }
      }
    }
  }
  // Buckets hold increasing lengths and each is sorted, so the first fit found is the best.
  const size_t first_bucket = n > kMaxExactPages ? LargeBucket(n) : 0;
  for (size_t b = NextBucket(lists.large_nonempty, first_bucket, kLargeBuckets); b < kLargeBuckets;
       b = NextBucket(lists.large_nonempty, b + 1, kLargeBuckets)) {
    for (Span* r = lists.large[b].First(); r != nullptr; r = r->next) {
      if (r->num_pages < n) continue;
      const size_t l = AlignLead(r->first_page, align);
      if (l + n <= r->num_pages) {
        *lead = l;
        *found_pages = r->num_pages;
        return r;
      }
    }
  }
  return nullptr;
}

Span* PageHeap::FindLocked(size_t n, size_t align, bool small, size_t* lead) {
  // Best fit over both kinds of free run; on a tie the resident (free) run wins, since it
  // costs no page faults.
  size_t free_lead = 0, free_pages = 0, ret_lead = 0, ret_pages = 0;
  Span* f = FindInLocked(free_, n, align, small, &free_lead, &free_pages);
  Span* r = FindInLocked(returned_, n, align, small, &ret_lead, &ret_pages);
  if (f != nullptr && (r == nullptr || free_pages <= ret_pages)) {
    *lead = free_lead;
    return f;
  }
  *lead = ret_lead;
  return r;
}

Span* PageHeap::LargestFreeRunLocked() {
  for (size_t b = kLargeBuckets; b-- > 0;) {
    if (!free_.large[b].Empty()) return free_.large[b].Last();
  }
  const size_t len = LastSetBit(free_.nonempty);
  return len == 0 ? nullptr : free_.exact[len].First();
}

Span* PageHeap::TakeSpareLocked() {
  Span* s = spares_;
  spares_ = s->next;
  __atomic_store_n(&spare_count_, spare_count_ - 1, __ATOMIC_RELAXED);
  return s;
}

void PageHeap::PutSpareLocked(Span* s) {
  // Stale pagemap entries may still point here: make sure nothing takes it for a free run.
  s->state = Span::State::kLarge;
  s->next = spares_;
  spares_ = s;
  __atomic_store_n(&spare_count_, spare_count_ + 1, __ATOMIC_RELAXED);
}

bool PageHeap::EnsureSpares() {
  if (__atomic_load_n(&spare_count_, __ATOMIC_RELAXED) >= kSparesNeeded) return true;
  // Allocated without our lock: the pool may need fresh metadata, which may mmap.
  Span* batch = nullptr;
  for (size_t i = 0; i < kSpareRefill; ++i) {
    Span* s = span_pool_.New();
    if (s == nullptr) break;
    s->next = batch;
    batch = s;
  }
  LockedSection h(&lock_);
  while (batch != nullptr) {
    Span* s = batch;
    batch = batch->next;
    PutSpareLocked(s);
  }
  return spare_count_ >= kSparesNeeded;
}

// Splits `run` (already out of the lists) into [lead pages | n pages | rest], puts the outer
// pieces back in the lists in the run's state, and returns the middle piece with its first and
// last page mapped. Needs kSparesNeeded spares. The caller sets the middle's state and stats.
Span* PageHeap::CarveLocked(Span* run, size_t lead, size_t n) {
  const Span::State state = run->state;
  if (lead > 0) {
    Span* head = TakeSpareLocked();
    head->Reset(run->first_page, lead, state);
    pagemap()->Set(head->first_page, head);
    pagemap()->Set(head->last_page(), head);
    InsertLocked(head);
    run->first_page += lead;
    run->num_pages -= lead;
  }
  if (run->num_pages > n) {
    Span* tail = TakeSpareLocked();
    tail->Reset(run->first_page + n, run->num_pages - n, state);
    pagemap()->Set(tail->first_page, tail);
    pagemap()->Set(tail->last_page(), tail);
    InsertLocked(tail);
    run->num_pages = n;
  }
  pagemap()->Set(run->first_page, run);
  pagemap()->Set(run->last_page(), run);
  return run;
}

bool PageHeap::Grow(size_t n, size_t align) {
  GetThpMode();  // read here, outside the lock, before any span of the region is handed out
  size_t align_bytes = align << kPageShift;
  if (align_bytes < kHugePageSize) align_bytes = kHugePageSize;
  size_t needed;
  if (!RoundUpChecked(n << kPageShift, kHugePageSize, &needed)) return false;
  size_t bytes = needed < kMinGrowBytes ? kMinGrowBytes : needed;
  void* region = SystemAlloc(bytes, align_bytes);
  if (region == nullptr && bytes > needed) {
    // Under an address-space limit the big reservation may fail where the request fits.
    bytes = needed;
    region = SystemAlloc(bytes, align_bytes);
  }
  if (region == nullptr) return false;
  const PageId first = PageIdOf(region);
  const size_t pages = bytes >> kPageShift;
  Span* s = nullptr;
  if (!pagemap()->Ensure(first, pages) || !hugepages_.Ensure(first, pages) ||
      (s = span_pool_.New()) == nullptr) {
    SystemUnmap(region, bytes);
    return false;
  }
  LockedSection h(&lock_);
  // Untouched mmap memory is not resident and reads zero: exactly a returned run.
  s->Reset(first, pages, Span::State::kReturned);
  system_bytes_ += bytes;
  returned_bytes_ += bytes;
  ++grows_;
  MergeAndInsertLocked(s);
  return true;
}

Span* PageHeap::NewImpl(size_t num_pages, size_t align_pages, bool small) {
  if (num_pages == 0 || !IsPowerOfTwo(align_pages) || align_pages > kMaxAlignPages) {
    errno = EINVAL;
    return nullptr;
  }
  if (num_pages > kMaxRequestPages) {
    errno = ENOMEM;
    return nullptr;
  }
  for (;;) {
    if (!EnsureSpares()) {
      errno = ENOMEM;
      return nullptr;
    }
    Span* span = nullptr;
    bool short_of_spares = false;
    HugepageWork work;
    {
      LockedSection h(&lock_);
      if (spare_count_ < kSparesNeeded) {
        short_of_spares = true;  // another thread used them between EnsureSpares and here
      } else {
        size_t lead = 0;
        Span* run = FindLocked(num_pages, align_pages, small, &lead);
        if (run == nullptr && align_pages == 1) run = MergeMixedLocked(num_pages);
        // A large allocation starts on a hugepage boundary when the best-fitting run has room
        // for that, so that it covers as many whole hugepages as it can (the pages skipped stay
        // a free run). A run that fits only unaligned is not passed over for a longer one.
        if (run != nullptr && num_pages >= kPagesPerHugePage && align_pages < kPagesPerHugePage) {
          const size_t aligned = lead + AlignLead(run->first_page + lead, kPagesPerHugePage);
          if (aligned + num_pages <= run->num_pages) lead = aligned;
        }
        if (run != nullptr) {
          span = TakeLocked(run, lead, num_pages, small, &work);
          span->zeroed = span->state == Span::State::kReturned;
          span->state = Span::State::kLarge;
          span->placed_small = small;
          ++live_spans_;
          ++total_allocs_;
          RotatePeakLocked(NowMs());  // the recent peak that Delete's mark uses
          if (in_use_bytes_ > current_peak_) current_peak_ = in_use_bytes_;
        }
      }
    }
    if (span != nullptr) {
      DoHugepageWork(work);
      // Only the end pages are mapped: free() and realloc() look a large allocation up by its
      // first page, and coalescing looks at neighbours' end pages. Writing an entry per page
      // would make New and Delete O(pages) (about 1.7 us for 4 MiB). Whoever carves the span
      // into small objects maps the interior (CentralFreeList).
      pagemap()->Set(span->first_page, span);
      pagemap()->Set(span->last_page(), span);
      return span;
    }
    if (short_of_spares) continue;
    if (!Grow(num_pages, align_pages)) {
      errno = ENOMEM;
      return nullptr;
    }
  }
}

Span* PageHeap::TakeLocked(Span* run, size_t lead, size_t n, bool small, HugepageWork* work) {
  RemoveLocked(run);
  Span* span = CarveLocked(run, lead, n);
  const size_t bytes = span->bytes();
  if (span->state == Span::State::kFree) {
    free_bytes_ -= bytes;
  } else {
    returned_bytes_ -= bytes;
  }
  in_use_bytes_ += bytes;
  if (small) small_in_use_bytes_ += bytes;
  NoteInUseLocked(span->first_page, n, small, work);
  return span;
}

void PageHeap::GiveBackLocked(Span* run, PageId first, size_t n, bool small) {
  run->Reset(first, n, Span::State::kFree);
  in_use_bytes_ -= n << kPageShift;
  if (small) small_in_use_bytes_ -= n << kPageShift;
  free_bytes_ += n << kPageShift;
  const HugepageCrossing crossed = NoteNotInUseLocked(first, n, small);
  MergeAndInsertLocked(run);
  for (HugePageId h : crossed.ids) {
    if (h != 0) DemoteRunsOfHugepageLocked(h);
  }
}

void PageHeap::Delete(Span* span) {
  if (span == nullptr) return;
  if (span->state != Span::State::kLarge && span->state != Span::State::kSmall) {
    __builtin_trap();  // double delete or a span that never came from New
  }
  const PageId first = span->first_page;
  const size_t n = span->num_pages;
  // Still ours until it is in the lists: clear what only we can see without the lock. The
  // first and last page keep pointing at the span (state kLarge/kSmall), so a neighbour being
  // deleted concurrently does not merge with it yet. The size classes of a small span must go
  // (a later large span on these pages would otherwise look small to free()); interior Span*
  // entries are left as they are: nothing reads the interior of a free or large span.
  if (span->state == Span::State::kSmall) pagemap()->SetSizeClass(first, n, 0);
  const bool small = span->placed_small;
  bool above_high_water;
  {
    LockedSection h(&lock_);
    GiveBackLocked(span, first, n, small);
    --live_spans_;
    // The mark is relative to what the heap needed lately, not to what it holds now: the free
    // memory that would take the heap back to its recent peak is kept. A loop that frees and
    // allocates again blocks of many MiB would otherwise release and refault them on every
    // round (a 32 MiB malloc+free took 39 us instead of 51 ns, a loop of 1-32 MiB blocks ran
    // 4x slower). A heap that really shrank is released once its peak is a window old.
    above_high_water = prompt_release_ && free_bytes_ > HighWater(in_use_bytes_) &&
                       free_bytes_ > next_prompt_free_;
    if (above_high_water) {
      RotatePeakLocked(NowMs());
      above_high_water = free_bytes_ > HighWater(RecentPeakLocked()) + WantedAgainLocked();
    }
  }
  if (above_high_water) ReleaseExcess();
}

void PageHeap::LockAllForFork() {
  pagemap()->lock().Lock();
  span_pool_.lock().Lock();
  MetadataArenaLock().Lock();
  lock_.Lock();
}

void PageHeap::UnlockAllAfterFork() {
  lock_.Unlock();
  MetadataArenaLock().Unlock();
  span_pool_.lock().Unlock();
  pagemap()->lock().Unlock();
}

PageHeap::Stats PageHeap::GetStats() {
  LockedSection h(&lock_);
  Stats s;
  s.system_bytes = system_bytes_;
  s.free_bytes = free_bytes_;
  s.returned_bytes = returned_bytes_;
  s.in_use_bytes = in_use_bytes_;
  s.large_allocs = live_spans_;
  s.total_allocs = total_allocs_;
  s.grows = grows_;
  s.release_calls = release_calls_;
  s.released_bytes = released_bytes_;
  s.free_runs = free_.runs;
  s.returned_runs = returned_.runs;
  s.prompt_releases = prompt_releases_;
  s.mixed_merges = mixed_merges_;
  s.hugepage_backed_bytes = backed_hugepages_ * kHugePageSize;
  s.hugepage_advised_bytes = advised_hugepages_ * kHugePageSize;
  s.hugepage_collapses = collapses_;
  return s;
}

}  // namespace rseqmalloc

// Coalescing free runs of the page heap: with their neighbours of the same state at every
// Delete, and free with returned ones when that saves growing. See docs/page_heap.md.
#include "allocator/page_heap.h"

namespace rseqmalloc {

// Merges s (state kFree or kReturned, not in any list) with neighbours of the same state and
// inserts the result. Free and returned runs are deliberately not merged with each other: the
// result would be partly resident, so either the merge madvises (a syscall on the free path) or
// the stats lie about residency. The next ReleaseFree turns the free part into a returned run,
// which then merges.
void PageHeap::MergeAndInsertLocked(Span* s) {
  const Span::State state = s->state;
  const PageId old_first = s->first_page;
  const PageId old_last = s->last_page();
  if (old_first > 0) {
    Span* left = pagemap()->GetSpan(old_first - 1);
    if (left != nullptr && left->state == state && left->last_page() == old_first - 1) {
      RemoveLocked(left);
      pagemap()->Set(left->last_page(), nullptr);
      s->first_page = left->first_page;
      s->num_pages += left->num_pages;
      PutSpareLocked(left);
    }
  }
  Span* right = pagemap()->GetSpan(old_last + 1);
  if (right != nullptr && right->state == state && right->first_page == old_last + 1) {
    RemoveLocked(right);
    pagemap()->Set(right->first_page, nullptr);
    s->num_pages += right->num_pages;
    PutSpareLocked(right);
  }
  // Pages that became interior read nullptr (the invariant for free runs); the ends map to s.
  if (old_first != s->first_page) pagemap()->Set(old_first, nullptr);
  if (old_last != s->last_page()) pagemap()->Set(old_last, nullptr);
  pagemap()->Set(s->first_page, s);
  pagemap()->Set(s->last_page(), s);
  InsertLocked(s);
}

// Before growing: a free run and the runs beside it, free or returned, together long enough for
// n pages, become one free run (see "Giving a run back" in docs/page_heap.md for why Delete
// does not merge the two states). The chain may cross several runs: aligning large blocks to
// hugepages leaves short returned runs between blocks, and once the blocks are freed those
// separate free runs that would otherwise be one (a large_blocks run, four live blocks of 1-32
// MiB, grew its heap to 192 MiB with this merge limited to a run's direct neighbours, 128 MiB
// with chains). The returned parts are counted as free from then on: free_bytes_ means
// "possibly resident", and a later release of them is an madvise of pages that are not there.
// A walk over the free runs, made only where the alternative is mapping a new region.
Span* PageHeap::MergeMixedLocked(size_t n) {
  // The run ending at page p (or starting at it, when !ending), if it is free or returned.
  auto free_run_at = [&](PageId p, bool ending) -> Span* {
    Span* r = pagemap()->GetSpan(p);
    if (r == nullptr || !r->is_free()) return nullptr;
    return (ending ? r->last_page() : r->first_page) == p ? r : nullptr;
  };
  auto try_run = [&](Span* f) -> Span* {
    // Measure the chain first, out to where it is long enough or meets a page in use.
    PageId lo = f->first_page;
    PageId hi = f->last_page();
    size_t total = f->num_pages;
    for (Span* r; total < n && lo > 0 && (r = free_run_at(lo - 1, true)) != nullptr;) {
      lo = r->first_page;
      total += r->num_pages;
    }
    for (Span* r; total < n && (r = free_run_at(hi + 1, false)) != nullptr;) {
      hi = r->last_page();
      total += r->num_pages;
    }
    if (total < n) return nullptr;
    RemoveLocked(f);
    auto absorb = [&](Span* r) {
      RemoveLocked(r);
      if (r->state == Span::State::kReturned) {
        returned_bytes_ -= r->bytes();
        free_bytes_ += r->bytes();
      }
      // Its end entries become interior ones (nullptr, the invariant for free runs).
      pagemap()->Set(r->first_page, nullptr);
      pagemap()->Set(r->last_page(), nullptr);
      PutSpareLocked(r);
    };
    pagemap()->Set(f->first_page, nullptr);
    pagemap()->Set(f->last_page(), nullptr);
    while (f->first_page > lo) {
      Span* r = free_run_at(f->first_page - 1, true);
      f->first_page = r->first_page;
      f->num_pages += r->num_pages;
      absorb(r);
    }
    while (f->last_page() < hi) {
      Span* r = free_run_at(f->last_page() + 1, false);
      f->num_pages += r->num_pages;
      absorb(r);
    }
    f->state = Span::State::kFree;
    pagemap()->Set(f->first_page, f);
    pagemap()->Set(f->last_page(), f);
    InsertLocked(f);
    ++mixed_merges_;
    return f;
  };
  for (size_t len = 1; len <= kMaxExactPages; ++len) {
    for (Span* f = free_.exact[len].First(); f != nullptr; f = f->next) {
      if (Span* merged = try_run(f)) return merged;
    }
  }
  for (size_t b = 0; b < kLargeBuckets; ++b) {
    for (Span* f = free_.large[b].First(); f != nullptr; f = f->next) {
      if (Span* merged = try_run(f)) return merged;
    }
  }
  return nullptr;
}

}  // namespace rseqmalloc

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
    Span* left = pagemap_->GetSpan(old_first - 1);
    if (left != nullptr && left->state == state && left->last_page() == old_first - 1) {
      RemoveLocked(left);
      pagemap_->Set(left->last_page(), nullptr);
      s->first_page = left->first_page;
      s->num_pages += left->num_pages;
      PutSpareLocked(left);
    }
  }
  Span* right = pagemap_->GetSpan(old_last + 1);
  if (right != nullptr && right->state == state && right->first_page == old_last + 1) {
    RemoveLocked(right);
    pagemap_->Set(right->first_page, nullptr);
    s->num_pages += right->num_pages;
    PutSpareLocked(right);
  }
  // Pages that became interior read nullptr (the invariant for free runs); the ends map to s.
  if (old_first != s->first_page) pagemap_->Set(old_first, nullptr);
  if (old_last != s->last_page()) pagemap_->Set(old_last, nullptr);
  pagemap_->Set(s->first_page, s);
  pagemap_->Set(s->last_page(), s);
  InsertLocked(s);
}

// Before growing: a free run and the returned run(s) beside it, together long enough for n
// pages, become one free run (see "Giving a run back" in docs/page_heap.md for why Delete
// does not merge them). The returned part is counted as free from then on: free_bytes_ means
// "possibly resident", and a later release of it is an madvise of pages that are not there.
// A walk over every free run, made only where the alternative is mapping a new region.
Span* PageHeap::MergeMixedLocked(size_t n) {
  auto returned_at = [&](PageId p, bool want_last) -> Span* {
    Span* r = pagemap_->GetSpan(p);
    if (r == nullptr || r->state != Span::State::kReturned) return nullptr;
    return (want_last ? r->last_page() : r->first_page) == p ? r : nullptr;
  };
  auto try_run = [&](Span* f) -> Span* {
    Span* left = f->first_page > 0 ? returned_at(f->first_page - 1, true) : nullptr;
    Span* right = returned_at(f->last_page() + 1, false);
    const size_t total = f->num_pages + (left ? left->num_pages : 0) + (right ? right->num_pages : 0);
    if (total < n) return nullptr;
    RemoveLocked(f);
    Span* const neighbours[2] = {left, right};
    for (Span* r : neighbours) {
      if (r == nullptr) continue;
      RemoveLocked(r);
      returned_bytes_ -= r->bytes();
      free_bytes_ += r->bytes();
      if (r == left) {
        pagemap_->Set(f->first_page, nullptr);  // becomes interior
        f->first_page = r->first_page;
      } else {
        pagemap_->Set(f->last_page(), nullptr);
      }
      f->num_pages += r->num_pages;
      PutSpareLocked(r);
    }
    pagemap_->Set(f->first_page, f);
    pagemap_->Set(f->last_page(), f);
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

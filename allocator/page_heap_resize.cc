// Resizing a large allocation in place, for realloc(): growing into the free run that follows
// it, and shrinking by handing its tail back. See docs/allocator.md ("Large allocations").
#include "allocator/locked_section.h"
#include "allocator/page_heap.h"

namespace rseqmalloc {

bool PageHeap::ExtendInPlace(Span* span, size_t new_pages) {
  if (span->state != Span::State::kLarge || new_pages > kMaxRequestPages) return false;
  if (new_pages <= span->num_pages) return new_pages == span->num_pages;
  const size_t extra = new_pages - span->num_pages;
  if (!EnsureSpares()) return false;
  HugepageWork work;
  {
    LockedSection h(&lock_);
    if (spare_count_ < kSparesNeeded) return false;
    const PageId after = span->last_page() + 1;
    Span* next = pagemap()->GetSpan(after);
    // Only the first page of a free run is sure to map to it; any other entry may be stale.
    if (next == nullptr || !next->is_free() || next->first_page != after ||
        next->num_pages < extra) {
      return false;
    }
    // The front `extra` pages; the rest stays a free run.
    Span* taken = TakeLocked(next, 0, extra, /*small=*/false, &work);
    span->num_pages = new_pages;
    pagemap()->Set(span->last_page(), span);
    PutSpareLocked(taken);  // its pages now belong to span
  }
  DoHugepageWork(work);
  return true;
}

// A shrink gives the tail back at once, as a Delete of it would: no copy, and nothing of the
// block is touched. Copying instead (a new block, memcpy, free) costs time in proportion to the
// size kept and writes every page of it, resident before or not.
bool PageHeap::ShrinkInPlace(Span* span, size_t new_pages) {
  if (span->state != Span::State::kLarge || new_pages == 0) return false;
  if (new_pages >= span->num_pages) return new_pages == span->num_pages;
  if (!EnsureSpares()) return false;
  LockedSection h(&lock_);
  if (spare_count_ == 0) return false;
  const PageId first = span->first_page + new_pages;
  const size_t n = span->num_pages - new_pages;
  const bool small = span->placed_small;
  span->num_pages = new_pages;
  pagemap()->Set(span->last_page(), span);
  GiveBackLocked(TakeSpareLocked(), first, n, small);
  return true;
}

}  // namespace rseqmalloc

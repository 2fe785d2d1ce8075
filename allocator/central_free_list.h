#ifndef RSEQMALLOC_ALLOCATOR_CENTRAL_FREE_LIST_H_
#define RSEQMALLOC_ALLOCATOR_CENTRAL_FREE_LIST_H_

#include <cstddef>
#include <cstdint>

#include "allocator/span.h"
#include "allocator/span_list.h"
#include "allocator/spin_lock.h"

namespace rseqmalloc {

// The spans of one size class that still have free objects, and the objects themselves.
//
// Spans are kept in bins by how full they are, and objects are handed out from the fullest span
// first: sparse spans then receive no new objects, drain as their objects come back, and return
// to the page heap whole. A span whose last object comes back goes to the page heap at once.
// Objects are carved lazily (a bump index over the span), so pages of a new span are touched only
// when their objects are first handed out.
class CentralFreeList {
 public:
  constexpr CentralFreeList() = default;
  void Init(uint32_t size_class);

  // Writes up to n objects to batch and returns how many; fewer than n (possibly 0) only when
  // the page heap is out of memory.
  int RemoveRange(void** batch, int n);
  // Takes back n objects of this class. Detects, and dies on, an object whose span is not a
  // live span of this class (a double free or a foreign pointer that reached the slow path).
  void InsertRange(void* const* batch, int n);

  SpinLock& lock() { return lock_; }
  // Approximate, for statistics: objects held free in spans, and spans owned.
  size_t free_objects() const { return free_objects_; }
  size_t spans() const { return spans_; }

 private:
  static constexpr int kBins = 8;
  // Objects whose spans are looked up (before the lock) in one go by InsertRange.
  static constexpr int kMaxInsertChunk = 128;
  int BinOf(const Span* span) const;
  // Moves objects from spans to batch under the lock. Returns the count.
  int TakeLocked(void** batch, int n);
  // InsertRange for at most kMaxInsertChunk objects: one locked section.
  void InsertChunk(void* const* batch, int n);
  // Asks the page heap for a new span and prepares it for this class (outside the lock).
  Span* NewSpan();

  SpinLock lock_;
  uint32_t size_class_ = 0;
  uint32_t object_size_ = 0;
  uint32_t objects_per_span_ = 0;
  uint32_t pages_per_span_ = 0;
  size_t free_objects_ = 0;
  size_t spans_ = 0;
  SpanList bins_[kBins];
};

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_CENTRAL_FREE_LIST_H_

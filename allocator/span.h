// A span: a run of contiguous pages, the unit the page heap hands out and takes back.
#ifndef RSEQMALLOC_ALLOCATOR_SPAN_H_
#define RSEQMALLOC_ALLOCATOR_SPAN_H_

#include <stddef.h>
#include <stdint.h>

#include "allocator/common.h"

namespace rseqmalloc {

struct Span {
  PageId first_page;
  size_t num_pages;

  enum class State : uint8_t {
    kFree,      // in the page heap, pages possibly resident
    kReturned,  // in the page heap, pages released to the OS (read as zero when next touched)
    kLarge,     // handed out by the page heap (one allocation, or about to become kSmall)
    kSmall,     // carved into objects of size_class (set by the central free list)
  };
  State state;
  uint8_t size_class;  // 0 = not a small span
  bool sampled;        // holds one heap-profile sample (allocator/profile); free() must tell it
  // Set by the page heap when it hands the span out: every page reads zero (it came from a
  // returned run or a fresh region), so calloc need not clear it. Meaningless afterwards.
  uint8_t zeroed;
  // Set by the page heap when it hands the span out: NewSmall placed it (its pages count as
  // small-object pages in the hugepage table until it is deleted).
  uint8_t placed_small;

  // Small-object bookkeeping, owned by the central free list.
  void* free_objects;     // singly linked list threaded through free objects
  uint32_t allocated;     // objects handed out
  uint32_t capacity;      // objects in the span
  uint32_t bump_index;    // [bump_index, capacity) were never handed out (lazy carving)
  uint8_t occupancy_bin;  // used by the central list

  // Intrusive list links: page heap free lists, or central lists.
  Span* prev;
  Span* next;

  // Makes this a run of n pages from first in the given state, every other field zero.
  void Reset(PageId first, size_t n, State new_state) {
    *this = Span{};
    first_page = first;
    num_pages = n;
    state = new_state;
  }

  void* start() const { return AddressOf(first_page); }
  size_t bytes() const { return num_pages << kPageShift; }
  PageId last_page() const { return first_page + num_pages - 1; }
  bool is_free() const { return state == State::kFree || state == State::kReturned; }
};

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_SPAN_H_

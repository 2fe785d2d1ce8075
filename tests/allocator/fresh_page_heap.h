// A page heap of its own for each test that needs one.
#ifndef RSEQMALLOC_TESTS_ALLOCATOR_FRESH_PAGE_HEAP_H_
#define RSEQMALLOC_TESTS_ALLOCATOR_FRESH_PAGE_HEAP_H_

#include <vector>

#include "allocator/page_heap.h"
#include "allocator/page_map.h"

namespace rseqmalloc {

// Each call makes a heap on its own pagemap (regions are never unmapped, so heaps leak; that
// is fine in tests). Heaps must not share a map: see PageHeap's constructor.
inline PageHeap* FreshHeap() {
  // Kept reachable so that leak checkers (ASan) do not report the deliberate leak.
  static std::vector<PageHeap*>* heaps = new std::vector<PageHeap*>();
  heaps->push_back(new PageHeap(new PageMap()));
  return heaps->back();
}

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_ALLOCATOR_FRESH_PAGE_HEAP_H_

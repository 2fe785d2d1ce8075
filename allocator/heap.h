#ifndef RSEQMALLOC_ALLOCATOR_HEAP_H_
#define RSEQMALLOC_ALLOCATOR_HEAP_H_

// The allocator's internal entry points, composed from the layers:
//   size class lookup → per-CPU cache (rseq) → transfer cache → central free list → page heap.
// The fast paths are inline so that malloc and free cost a table lookup, a pagemap lookup and
// one restartable sequence; everything else is out of line in heap.cc.

#include <cstddef>
#include <cstdint>

#include "allocator/common.h"
#include "allocator/cpu_cache.h"
#include "allocator/page_map.h"
#include "allocator/size_classes.h"

#define RSEQMALLOC_ALWAYS_INLINE inline __attribute__((always_inline))
#define RSEQMALLOC_LIKELY(x) __builtin_expect(!!(x), 1)

namespace rseqmalloc {

// Out of line. Small: class known, per-CPU stack empty (or no per-CPU cache on this thread).
void* AllocateSmallSlow(uint32_t size_class);
// Sizes above the largest class, and aligned requests no class can serve.
void* AllocateLarge(size_t size, size_t alignment);
// Class known, per-CPU stack full (or no per-CPU cache). size_class 0: large, null or foreign.
void DeallocateSlow(void* ptr, uint32_t size_class);
// alignment is a power of two.
void* AllocateAligned(size_t size, size_t alignment);
// Whether a live allocation can take `size` bytes without moving: the same size class for small
// blocks (so that sized frees still find the class), and for large ones the same page count
// or an in-place extension into the following free pages.
bool ResizeInPlace(void* ptr, size_t size);
// Usable bytes of a live allocation; 0 for nullptr; dies on a pointer the heap does not own.
size_t UsableSize(const void* ptr);
// Initialises the allocator if no call has yet (safe to call any time).
void EnsureInitialized();

RSEQMALLOC_ALWAYS_INLINE void* Allocate(size_t size) {
  const uint32_t size_class = SizeMap::ClassFor(size);
  if (RSEQMALLOC_LIKELY(size_class != 0)) {
    void* object = g_cpu_cache.Allocate(size_class);
    if (RSEQMALLOC_LIKELY(object != nullptr)) return object;
    return AllocateSmallSlow(size_class);
  }
  return AllocateLarge(size, 0);
}

RSEQMALLOC_ALWAYS_INLINE void Deallocate(void* ptr) {
  // nullptr and pointers the heap does not own map to class 0 and take the slow path.
  const uint32_t size_class = g_pagemap.GetSizeClass(PageIdOf(ptr));
  if (RSEQMALLOC_LIKELY(size_class != 0) &&
      RSEQMALLOC_LIKELY(g_cpu_cache.Deallocate(size_class, ptr))) {
    return;
  }
  DeallocateSlow(ptr, size_class);
}

// The caller promises that ptr came from an allocation of `size` bytes (C++ sized delete,
// free_sized): the class then comes from the size, without touching the pagemap.
RSEQMALLOC_ALWAYS_INLINE void DeallocateSized(void* ptr, size_t size) {
  const uint32_t size_class = SizeMap::ClassFor(size);
  if (RSEQMALLOC_LIKELY(size_class != 0) && RSEQMALLOC_LIKELY(ptr != nullptr) &&
      RSEQMALLOC_LIKELY(g_cpu_cache.Deallocate(size_class, ptr))) {
    return;
  }
  DeallocateSlow(ptr, ptr == nullptr ? 0 : g_pagemap.GetSizeClass(PageIdOf(ptr)));
}

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_HEAP_H_

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

// Out of line: everything the hit paths below do not finish. Every miss of malloc/new/free ends
// up in AllocateMiss or DeallocateSlow, so these are also where a mode that must see every
// operation (sampling, guarded allocations) turns the per-CPU cache off for a thread.
//
// Small: class known, per-CPU stack empty (or no per-CPU cache on this thread).
void* AllocateSmallSlow(uint32_t size_class);
// malloc's miss (stack empty, no per-CPU cache, or a size above the largest class). Takes only
// the size, which is still in the first argument register, so the hit path's tail call needs
// no register move; the class is looked up again here.
void* AllocateMiss(size_t size);
// Sizes above the largest class, and aligned requests no class can serve.
void* AllocateLarge(size_t size, size_t alignment);
// free's miss: per-CPU stack full, no per-CPU cache, or ptr is nullptr, large or foreign (the
// class is looked up again here, so callers pass nothing but the pointer).
void DeallocateSlow(void* ptr) noexcept;
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
// While set, this thread's small allocations and frees skip the per-CPU and thread caches and go
// to the transfer caches one object at a time (what an allocation made during initialisation
// does). vfork_override.cc sets it for the life of a vfork child. Returns the previous value.
bool SetThreadBypassesCaches(bool bypass);

// The allocation hit path, shared by malloc and operator new: a size compare, a class table
// load and a pop. Every miss returns miss(size) as a tail call, so the caller needs no frame.
template <typename Miss>
RSEQMALLOC_ALWAYS_INLINE void* AllocateWith(size_t size, Miss miss) {
  if (__builtin_expect(size > kMaxSmallSize, 0)) return miss(size);
  void* object;
  if (RSEQMALLOC_LIKELY(g_cpu_cache.TryAllocate(SizeMap::SmallClassFor(size), &object))) {
    return object;
  }
  return miss(size);
}

RSEQMALLOC_ALWAYS_INLINE void* Allocate(size_t size) {
  return AllocateWith(size, [](size_t n) { return AllocateMiss(n); });
}

// nullptr, large and foreign pointers read class 0, whose stack has no capacity: the push fails
// and DeallocateSlow sorts them out, so the hit path tests nothing but the push.
RSEQMALLOC_ALWAYS_INLINE void Deallocate(void* ptr) {
  if (RSEQMALLOC_LIKELY(g_cpu_cache.Deallocate(g_cpu_cache.ClassOf(ptr), ptr))) return;
  DeallocateSlow(ptr);
}

// The caller promises that ptr came from an allocation of `size` bytes (C++ sized delete,
// free_sized): the class then comes from the size, without the class map. That costs a bound
// and a null test more than free's lookup, but the class no longer waits for the pointer (a
// new+sized-delete loop measured 0.2-0.3 ns per pair slower with free's lookup).
RSEQMALLOC_ALWAYS_INLINE void DeallocateSized(void* ptr, size_t size) {
  if (RSEQMALLOC_LIKELY(size <= kMaxSmallSize) && RSEQMALLOC_LIKELY(ptr != nullptr) &&
      RSEQMALLOC_LIKELY(g_cpu_cache.Deallocate(SizeMap::SmallClassFor(size), ptr))) {
    return;
  }
  DeallocateSlow(ptr);
}

// The hit path of aligned_alloc, memalign, posix_memalign and aligned new, for an alignment the
// caller checked is a power of two no larger than kPageSize: malloc's hit path with one more
// table load, the smallest class whose size is a multiple of the alignment (0 where none is: its
// stack never pops). false: the caller's slow path (AllocateAligned) serves the request.
RSEQMALLOC_ALWAYS_INLINE bool TryAllocateAlignedHit(size_t size, size_t alignment,
                                                    void** object) {
  return RSEQMALLOC_LIKELY(size <= kMaxSmallSize) &&
         g_cpu_cache.TryAllocate(SizeMap::SmallClassForAligned(size, alignment), object);
}

// An alignment the aligned hit path takes: a power of two, at most a page.
RSEQMALLOC_ALWAYS_INLINE bool IsHitPathAlignment(size_t alignment) {
  return alignment - 1 < kPageSize && (alignment & (alignment - 1)) == 0;
}

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_HEAP_H_

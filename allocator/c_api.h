#ifndef RSEQMALLOC_ALLOCATOR_C_API_H_
#define RSEQMALLOC_ALLOCATOR_C_API_H_

// The semantics of the C allocation functions, written once: both the prefixed entry points
// (rseqmalloc_malloc, …) and the replacements of malloc itself (malloc_overrides.cc) are one-line
// calls to these. They follow glibc where the standards leave room:
//   malloc(0) and the like return a unique pointer; realloc(p, 0) frees p and returns NULL;
//   sizes that cannot be served (overflow, exhaustion) give NULL with errno ENOMEM;
//   an alignment that is not a power of two gives EINVAL (posix_memalign returns it, aligned_alloc
//   sets errno), except memalign, which rounds it up as glibc does.

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "allocator/heap.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc::c_api {

RSEQMALLOC_ALWAYS_INLINE void* Malloc(size_t size) { return Allocate(size); }
RSEQMALLOC_ALWAYS_INLINE void Free(void* ptr) { Deallocate(ptr); }

// Blocks up to this size are cleared inline by calloc's hit path: memset through the PLT, with
// the frame its call needs, cost more than the pop (calloc(1, 64)+free took 1.5x malloc+free).
inline constexpr size_t kInlineZeroMaxBytes = 128;

// calloc's slow paths: a count × size product that overflows, and everything else its hit path
// below does not take (blocks above kInlineZeroMaxBytes, misses, large blocks). They take what
// the hit path has left in registers, so that it keeps no argument alive and needs no frame.
__attribute__((noinline)) inline void* CallocOverflow() {
  errno = ENOMEM;
  return nullptr;
}

__attribute__((noinline)) inline void* CallocSlow(size_t bytes) {
  // Up to kInlineZeroMaxBytes the hit path's pop just failed: go straight to malloc's miss.
  void* ptr = bytes <= kInlineZeroMaxBytes ? AllocateMiss(bytes) : Allocate(bytes);
  if (ptr == nullptr) return nullptr;
  if (bytes > kMaxSmallSize) {
    // A large block carved from released or fresh pages reads zero already: clearing it would
    // only make all of it resident (glibc skips the clear for fresh mmap'd chunks too). A reused
    // one is cleared where it is resident and released where it is mostly not (SystemZero).
    if (!g_pagemap.GetSpan(PageIdOf(ptr))->zeroed) SystemZero(ptr, bytes);
    return ptr;
  }
  return memset(ptr, 0, bytes);
}

// Clears the first `bytes` (at most kInlineZeroMaxBytes) of an object that a per-CPU stack just
// handed out for the class SizeMap::SmallClassFor(bytes). Every class above 8 bytes has a size
// that is a multiple of 16 and objects at multiples of it from a page-aligned span start, so
// aligned 16-byte stores up to `bytes` rounded up to 16 stay inside the object; the 8-byte class
// takes one 8-byte store. The stores are laid out from both ends and may overlap, so that each
// size takes a fixed number of them (2 up to 32 bytes, 4 up to 64, 8 up to 128) and no loop.
RSEQMALLOC_ALWAYS_INLINE void ZeroSmallObject(void* object, size_t bytes) {
  // may_alias: the stores clear bytes of whatever type the program puts there, as memset would.
  using Zero16 = uint64_t __attribute__((vector_size(16), may_alias));
  static_assert(kInlineZeroMaxBytes <= 128, "the stores below cover 128 bytes at most");
  static_assert(SizeMap::InlineZeroFits(kInlineZeroMaxBytes),
                "every class calloc clears inline must be a multiple of 16 bytes (above 8)");
  if (bytes <= 8) {
    using Zero8 = uint64_t __attribute__((may_alias));
    *static_cast<Zero8*>(object) = 0;
    return;
  }
  auto* head = static_cast<Zero16*>(object);
  Zero16* tail = head + (bytes + 15) / 16;  // one past the last 16 bytes to clear
  head[0] = Zero16{};
  tail[-1] = Zero16{};
  if (bytes <= 32) return;
  head[1] = Zero16{};
  tail[-2] = Zero16{};
  if (bytes <= 64) return;
  head[2] = Zero16{};
  head[3] = Zero16{};
  tail[-3] = Zero16{};
  tail[-4] = Zero16{};
}

// The hit path: the overflow check, malloc's pop and an inline clear; no frame, no call.
RSEQMALLOC_ALWAYS_INLINE void* Calloc(size_t count, size_t size) {
  size_t bytes;
  if (__builtin_expect(__builtin_mul_overflow(count, size, &bytes), 0)) return CallocOverflow();
  void* object;
  if (RSEQMALLOC_LIKELY(bytes <= kInlineZeroMaxBytes) &&
      RSEQMALLOC_LIKELY(g_cpu_cache.TryAllocate(SizeMap::SmallClassFor(bytes), &object))) {
    ZeroSmallObject(object, bytes);
    return object;
  }
  return CallocSlow(bytes);
}

inline void* Realloc(void* ptr, size_t size) {
  if (ptr == nullptr) return Allocate(size);
  if (size == 0) {
    Deallocate(ptr);
    return nullptr;
  }
  if (ResizeInPlace(ptr, size)) return ptr;
  const size_t old_size = UsableSize(ptr);
  void* fresh = Allocate(size);
  if (fresh == nullptr) return nullptr;  // errno set; the old block stays valid
  memcpy(fresh, ptr, old_size < size ? old_size : size);
  Deallocate(ptr);
  return fresh;
}

inline void* ReallocArray(void* ptr, size_t count, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return Realloc(ptr, bytes);
}

// The aligned functions try the hit path inline and leave everything else (bad alignments,
// large sizes, misses, and errno) to an out-of-line slow path, so that their hit path needs no
// frame and makes no call.
__attribute__((noinline)) inline void* MemalignSlow(size_t alignment, size_t size) {
  if (alignment > (size_t{1} << 40)) {  // glibc: an impossible alignment is EINVAL
    errno = EINVAL;
    return nullptr;
  }
  if (!IsPowerOfTwo(alignment)) {
    size_t rounded = 1;
    while (rounded < alignment) rounded <<= 1;
    alignment = rounded;
  }
  return AllocateAligned(size, alignment);
}

// The aligned hit path for an alignment nobody checked yet; slow(alignment, size) serves the rest.
template <typename Slow>
RSEQMALLOC_ALWAYS_INLINE void* AllocateAlignedWith(size_t alignment, size_t size, Slow slow) {
  void* object;
  if (IsHitPathAlignment(alignment) && TryAllocateAlignedHit(size, alignment, &object)) {
    return object;
  }
  return slow(alignment, size);
}

RSEQMALLOC_ALWAYS_INLINE void* Memalign(size_t alignment, size_t size) {
  return AllocateAlignedWith(alignment, size, MemalignSlow);
}

__attribute__((noinline)) inline void* AlignedAllocSlow(size_t alignment, size_t size) {
  if (!IsPowerOfTwo(alignment)) {
    errno = EINVAL;
    return nullptr;
  }
  return MemalignSlow(alignment, size);
}

RSEQMALLOC_ALWAYS_INLINE void* AlignedAlloc(size_t alignment, size_t size) {
  return AllocateAlignedWith(alignment, size, AlignedAllocSlow);
}

__attribute__((noinline)) inline int PosixMemalignSlow(void** out, size_t alignment, size_t size) {
  if (!IsPowerOfTwo(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  if (alignment > (size_t{1} << 40)) return ENOMEM;
  const int saved = errno;
  void* ptr = AllocateAligned(size, alignment);
  if (ptr == nullptr) {
    errno = saved;  // posix_memalign reports through its result, not errno
    return ENOMEM;
  }
  *out = ptr;
  return 0;
}

RSEQMALLOC_ALWAYS_INLINE int PosixMemalign(void** out, size_t alignment, size_t size) {
  void* object;
  if (IsHitPathAlignment(alignment) && alignment >= sizeof(void*) &&
      TryAllocateAlignedHit(size, alignment, &object)) {
    *out = object;
    return 0;
  }
  return PosixMemalignSlow(out, alignment, size);
}

inline void* Valloc(size_t size) { return AllocateAligned(size, SystemPageSize()); }

inline void* Pvalloc(size_t size) {
  const size_t page = SystemPageSize();
  size_t rounded;
  if (__builtin_add_overflow(size, page - 1, &rounded)) {
    errno = ENOMEM;
    return nullptr;
  }
  rounded &= ~(page - 1);
  return AllocateAligned(rounded == 0 ? page : rounded, page);
}

RSEQMALLOC_ALWAYS_INLINE void FreeSized(void* ptr, size_t size) { DeallocateSized(ptr, size); }

// Aligned blocks may live in a class other than ClassFor(size): look the class up.
RSEQMALLOC_ALWAYS_INLINE void FreeAlignedSized(void* ptr, size_t, size_t) { Deallocate(ptr); }

inline size_t MallocUsableSize(void* ptr) { return UsableSize(ptr); }

}  // namespace rseqmalloc::c_api

#endif  // RSEQMALLOC_ALLOCATOR_C_API_H_

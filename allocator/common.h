// Constants and page arithmetic shared by every part of the allocator.
#ifndef RSEQMALLOC_ALLOCATOR_COMMON_H_
#define RSEQMALLOC_ALLOCATOR_COMMON_H_

#include <stddef.h>
#include <stdint.h>

// Marks a global that must be constant-initialised (it may be used before any constructor runs).
// C++17 has no constinit; gcc >= 10 and clang check the same property under these spellings.
#if defined(__cpp_constinit)
#define RSEQMALLOC_CONSTINIT constinit
#elif defined(__clang__)
#define RSEQMALLOC_CONSTINIT [[clang::require_constant_initialization]]
#elif defined(__GNUC__) && __GNUC__ >= 10
#define RSEQMALLOC_CONSTINIT __constinit
#else
#define RSEQMALLOC_CONSTINIT
#endif

namespace rseqmalloc {

// Our page is 8 KiB, twice the kernel's: half as many pagemap entries and span headers, and
// still small enough that one-page spans of small objects waste little.
inline constexpr size_t kPageShift = 13;
inline constexpr size_t kPageSize = size_t{1} << kPageShift;
inline constexpr size_t kHugePageSize = size_t{2} << 20;
inline constexpr size_t kPagesPerHugePage = kHugePageSize / kPageSize;
// Requests above this go to the page heap directly.
inline constexpr size_t kMaxSmallSize = 256 * 1024;
// malloc/new alignment (the 8-byte class only guarantees 8).
inline constexpr size_t kAlignment = 16;
// User-space virtual addresses on x86_64 and aarch64 (4-level tables) fit in 48 bits.
inline constexpr int kAddressBits = 48;

using PageId = uintptr_t;  // address >> kPageShift

inline PageId PageIdOf(const void* p) { return reinterpret_cast<uintptr_t>(p) >> kPageShift; }

inline void* AddressOf(PageId page) { return reinterpret_cast<void*>(page << kPageShift); }

// Number of pages needed to hold `bytes`, rounding up, without the overflow of
// (bytes + kPageSize - 1) >> kPageShift near SIZE_MAX.
inline constexpr size_t PagesFor(size_t bytes) {
  return (bytes >> kPageShift) + ((bytes & (kPageSize - 1)) != 0 ? 1 : 0);
}

// Rounds `value` up to a multiple of `align` (a power of two). Returns false on overflow.
inline constexpr bool RoundUpChecked(size_t value, size_t align, size_t* out) {
  const size_t mask = align - 1;
  if (value > ~size_t{0} - mask) return false;
  *out = (value + mask) & ~mask;
  return true;
}

inline constexpr bool IsPowerOfTwo(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_COMMON_H_

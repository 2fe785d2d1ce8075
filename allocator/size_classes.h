// Size classes: which object size a request is rounded to, and how each class is carved and
// cached. The numbers are generated (tools/gen_size_classes.py -> size_class_table.inc);
// docs/size_classes.md explains the choices.
#ifndef RSEQMALLOC_ALLOCATOR_SIZE_CLASSES_H_
#define RSEQMALLOC_ALLOCATOR_SIZE_CLASSES_H_

#include <stddef.h>
#include <stdint.h>

#include "allocator/common.h"

namespace rseqmalloc {

namespace size_class_table {
#include "allocator/size_class_table.inc"
}  // namespace size_class_table

// Including class 0, which is unused (it means "not a small size" / "not a small span").
inline constexpr size_t kNumClasses = size_class_table::kNumClasses;

namespace size_class_detail {

inline constexpr int kAlignShifts = kPageShift + 1;  // alignments 2^0 .. 2^kPageShift

struct AlignedClassTable {
  // Rows padded to a power of two, so that the aligned hit path finds its row with one shift.
  static constexpr size_t kRowStride = kNumClasses <= 128 ? 128 : 256;
  // [shift][cl]: the smallest class >= cl whose size is a multiple of 2^shift, or 0.
  uint8_t next[kAlignShifts][kRowStride];
};

constexpr AlignedClassTable MakeAlignedClassTable() {
  AlignedClassTable table{};
  for (int shift = 0; shift < kAlignShifts; ++shift) {
    uint8_t next = 0;
    for (size_t cl = kNumClasses - 1; cl >= 1; --cl) {
      if (size_class_table::kClassSize[cl] % (size_t{1} << shift) == 0) {
        next = static_cast<uint8_t>(cl);
      }
      table.next[shift][cl] = next;
    }
  }
  return table;
}

// Hidden, so that the hit path adds its address PC-relative: with default visibility GCC adds
// it from the GOT (`add sym@GOTPCREL(%rip)`), a load the linker cannot relax away.
__attribute__((visibility("hidden"))) inline constexpr AlignedClassTable kAlignedClass =
    MakeAlignedClassTable();

}  // namespace size_class_detail

class SizeMap {
 public:
  // The smallest class whose size is >= size; size 0 gets the smallest class; 0 for
  // size > kMaxSmallSize. One compare, one select, one byte load: no loop, no division.
  static uint32_t ClassFor(size_t size) {
    if (size > kMaxSmallSize) return 0;
    return SmallClassFor(size);
  }
  // ClassFor for a size the caller already knows is <= kMaxSmallSize (never 0).
  static constexpr uint32_t SmallClassFor(size_t size) {
    return size_class_table::kClassIndex[LookupIndex(size)];
  }

  // The smallest class whose size is >= size and a multiple of align (align <= kPageSize,
  // a power of two; 0 and 1 mean no constraint). 0 if there is none (size too big or align
  // beyond a page). Two table loads: memalign and aligned new stay on the fast path.
  static uint32_t ClassForAligned(size_t size, size_t align) {
    if (align > kPageSize || size > kMaxSmallSize) return 0;
    return align <= 1 ? SmallClassFor(size) : SmallClassForAligned(size, align);
  }

  // ClassForAligned for a size <= kMaxSmallSize and an alignment <= kPageSize, for the aligned
  // hit path: one more table load than SmallClassFor.
  static uint32_t SmallClassForAligned(size_t size, size_t align) {
    const unsigned shift = static_cast<unsigned>(__builtin_ctzl(align));
    return size_class_detail::kAlignedClass.next[shift][SmallClassFor(size)];
  }

  // What calloc's inline clear (allocator/c_api.h) relies on for every size up to max_bytes:
  // sizes 0-8 get a class of at least 8 bytes, and a larger size a class whose size is a
  // multiple of 16 (so its objects are 16-byte aligned) and at least the size rounded up to 16.
  static constexpr bool InlineZeroFits(size_t max_bytes) {
    for (size_t size = 0; size <= max_bytes; ++size) {
      const size_t class_size = size_class_table::kClassSize[SmallClassFor(size)];
      if (size <= 8 ? class_size < 8
                    : class_size % 16 != 0 || class_size < (size + 15) / 16 * 16) {
        return false;
      }
    }
    return true;
  }

  static size_t ClassSize(uint32_t cl) { return size_class_table::kClassSize[cl]; }
  static size_t ClassPages(uint32_t cl) { return size_class_table::kClassPages[cl]; }
  // Objects moved per transfer between the per-CPU cache and the transfer cache.
  static uint32_t BatchSize(uint32_t cl) { return size_class_table::kBatchSize[cl]; }
  // Upper bound for a per-CPU cache's capacity of this class, in objects.
  static uint16_t MaxCapacity(uint32_t cl) { return size_class_table::kMaxCapacity[cl]; }
  static uint32_t ObjectsPerSpan(uint32_t cl) { return size_class_table::kObjectsPerSpan[cl]; }

  // Index into the lookup table: 8-byte steps up to 1 KiB, 128-byte steps above (offset so
  // that the two ranges are contiguous). Exposed for tests.
  static constexpr size_t LookupIndex(size_t size) {
    // Small sizes are the common case: lay their path out straight.
    return __builtin_expect(size <= 1024, 1) ? (size + 7) >> 3
                                             : (size + 127 + (120 << 7)) >> 7;
  }

 private:
};

static_assert(SizeMap::LookupIndex(kMaxSmallSize) + 1 == size_class_table::kIndexLength,
              "the lookup table must end exactly at kMaxSmallSize");
static_assert(kNumClasses <= 256, "class numbers are stored in bytes");

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_SIZE_CLASSES_H_

#include "allocator/size_classes.h"

#include <stdint.h>

#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

// The reference answer, by linear search.
uint32_t SlowClassFor(size_t size) {
  if (size > kMaxSmallSize) return 0;
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    if (SizeMap::ClassSize(cl) >= size) return cl;
  }
  return 0;
}

TEST(SizeClassesTest, CountAndShape) {
  EXPECT_GE(kNumClasses - 1, 40u);
  EXPECT_LE(kNumClasses - 1, 90u);
  EXPECT_EQ(SizeMap::ClassSize(1), 8u);
  EXPECT_EQ(SizeMap::ClassSize(kNumClasses - 1), kMaxSmallSize);
  for (uint32_t cl = 2; cl < kNumClasses; ++cl) {
    EXPECT_GT(SizeMap::ClassSize(cl), SizeMap::ClassSize(cl - 1)) << cl;
    EXPECT_EQ(SizeMap::ClassSize(cl) % kAlignment, 0u) << "class " << cl << " not 16-aligned";
    if (SizeMap::ClassSize(cl) > 1024) {
      EXPECT_EQ(SizeMap::ClassSize(cl) % 128, 0u) << "lookup above 1 KiB is in 128-byte steps";
    }
  }
}

TEST(SizeClassesTest, EverySizeMapsToSmallestFittingClass) {
  for (size_t size = 0; size <= kMaxSmallSize; ++size) {
    const uint32_t cl = SizeMap::ClassFor(size);
    ASSERT_EQ(cl, SlowClassFor(size)) << "size " << size;
    ASSERT_GE(SizeMap::ClassSize(cl), size);
    if (cl > 1) {
      ASSERT_LT(SizeMap::ClassSize(cl - 1), size);
    }
  }
  EXPECT_EQ(SizeMap::ClassFor(0), 1u);
  EXPECT_EQ(SizeMap::ClassFor(kMaxSmallSize + 1), 0u);
  EXPECT_EQ(SizeMap::ClassFor(SIZE_MAX), 0u);
  EXPECT_EQ(SizeMap::ClassFor(SIZE_MAX - 100), 0u);
}

TEST(SizeClassesTest, MonotonicMapping) {
  uint32_t prev = SizeMap::ClassFor(0);
  for (size_t size = 1; size <= kMaxSmallSize; ++size) {
    const uint32_t cl = SizeMap::ClassFor(size);
    ASSERT_GE(cl, prev) << size;
    ASSERT_LE(cl, prev + 1) << size;  // no class is skipped
    prev = cl;
  }
  EXPECT_EQ(prev, kNumClasses - 1);
}

TEST(SizeClassesTest, RoundingWasteBoundedAbove128) {
  double worst = 0;
  for (size_t size = 129; size <= kMaxSmallSize; ++size) {
    const double waste =
        static_cast<double>(SizeMap::ClassSize(SizeMap::ClassFor(size)) - size) / size;
    if (waste > worst) worst = waste;
  }
  EXPECT_LE(worst, 0.125);
  for (size_t size = 1; size <= 128; ++size) {
    EXPECT_LT(SizeMap::ClassSize(SizeMap::ClassFor(size)) - size, 16u) << size;
  }
}

TEST(SizeClassesTest, SpansHoldObjectsWithLittleTailWaste) {
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    const size_t size = SizeMap::ClassSize(cl);
    const size_t span = SizeMap::ClassPages(cl) * kPageSize;
    ASSERT_GE(SizeMap::ClassPages(cl), 1u);
    EXPECT_EQ(SizeMap::ObjectsPerSpan(cl), span / size) << cl;
    EXPECT_GE(SizeMap::ObjectsPerSpan(cl), 1u) << cl;
    EXPECT_LE(static_cast<double>(span - SizeMap::ObjectsPerSpan(cl) * size) / span, 0.125)
        << "class " << cl;
    if (size <= 1024) {
      EXPECT_EQ(SizeMap::ClassPages(cl), 1u) << "small classes use one page";
    }
  }
}

TEST(SizeClassesTest, BatchAndCapacitySane) {
  size_t total_capacity = 0;
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    EXPECT_GE(SizeMap::BatchSize(cl), 2u);
    EXPECT_LE(SizeMap::BatchSize(cl), 32u);
    EXPECT_GE(SizeMap::MaxCapacity(cl), SizeMap::BatchSize(cl)) << "one batch must fit";
    if (cl > 1) {
      EXPECT_LE(SizeMap::BatchSize(cl), SizeMap::BatchSize(cl - 1));
      EXPECT_LE(SizeMap::MaxCapacity(cl), SizeMap::MaxCapacity(cl - 1));
    }
    total_capacity += SizeMap::MaxCapacity(cl);
  }
  // Pointers per per-CPU slot: well under a 256 KiB slot.
  EXPECT_LE(total_capacity * sizeof(void*), 128u * 1024);
}

TEST(SizeClassesTest, AlignedClasses) {
  for (size_t align = 1; align <= kPageSize; align <<= 1) {
    for (size_t size = 0; size <= kMaxSmallSize; size += (size < 4096 ? 1 : 61)) {
      const uint32_t cl = SizeMap::ClassForAligned(size, align);
      ASSERT_NE(cl, 0u) << size << " " << align;  // the 256 KiB class is page-aligned
      ASSERT_GE(SizeMap::ClassSize(cl), size);
      ASSERT_EQ(SizeMap::ClassSize(cl) % align, 0u);
      for (uint32_t smaller = SizeMap::ClassFor(size); smaller < cl; ++smaller) {
        ASSERT_NE(SizeMap::ClassSize(smaller) % align, 0u) << "a smaller class fits";
      }
    }
  }
  EXPECT_EQ(SizeMap::ClassForAligned(100, 2 * kPageSize), 0u);
  EXPECT_EQ(SizeMap::ClassForAligned(kMaxSmallSize + 1, 16), 0u);
  EXPECT_EQ(SizeMap::ClassForAligned(0, 0), 1u);
}

}  // namespace
}  // namespace rseqmalloc

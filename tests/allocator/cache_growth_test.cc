// The slow-start rule both front ends share (allocator/cache_growth.h), as pure functions: the
// sizes of the refills a class takes from an empty cache while it is allocated in a loop.
#include "allocator/cache_growth.h"

#include <vector>

#include "allocator/size_classes.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

// The refills an empty cache of the class takes to hand out `objects`, growing on every miss as
// the per-CPU cache does below a batch (and by a batch per refill beyond, as a consumer's would
// not: enough here, since the loop stops soon after a batch).
std::vector<size_t> Refills(uint32_t cl, size_t objects) {
  const size_t batch = BatchOf(cl);
  std::vector<size_t> refills;
  size_t capacity = 0;
  for (size_t handed = 0; handed < objects;) {
    if (capacity < batch) capacity += ClassGrowthStep(capacity, cl);
    refills.push_back(ClassRefillCount(capacity, cl));
    handed += refills.back();
  }
  return refills;
}

TEST(CacheGrowth, LineGroupIsWhatEndsOnACacheLine) {
  EXPECT_EQ(LineGroup(8), 8u);
  EXPECT_EQ(LineGroup(16), 4u);
  EXPECT_EQ(LineGroup(32), 2u);
  EXPECT_EQ(LineGroup(48), 4u);
  EXPECT_EQ(LineGroup(64), 1u);
  EXPECT_EQ(LineGroup(96), 2u);
  EXPECT_EQ(LineGroup(144), 4u);
  EXPECT_EQ(LineGroup(2048), 1u);
  for (size_t size = 8; size <= 4096; size += 8) {
    EXPECT_EQ(LineGroup(size) * size % kCacheLineBytes, 0u) << size;
  }
}

TEST(CacheGrowth, BigObjectsStartSlowly) {
  const uint32_t cl = SizeMap::ClassFor(2048);
  ASSERT_EQ(BatchOf(cl), 32u);
  EXPECT_EQ(Refills(cl, 34 + 64), (std::vector<size_t>{3, 5, 9, 17, 32, 32}));
}

TEST(CacheGrowth, EveryRefillOfAFreshSpanEndsOnACacheLine) {
  // The central list carves a fresh span in address order from a page boundary: if every refill
  // is a multiple of the line group, no two refills (two CPUs, two threads) share a line.
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    const size_t size = SizeMap::ClassSize(cl);
    for (size_t count : Refills(cl, 4 * BatchOf(cl))) {
      EXPECT_EQ(count * size % kCacheLineBytes, 0u) << "class " << cl << " of " << size << " bytes";
    }
  }
}

TEST(CacheGrowth, TheFirstRefillOfASmallClassSpansSeveralLines) {
  // A thread's first two objects of a class are the refill's first (the caller's) and its last
  // (the top of the stack): they must not share a cache line, or a thread that hands them to two
  // workers makes them share one (cache_scratch).
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    const size_t size = SizeMap::ClassSize(cl);
    const size_t first = Refills(cl, 1).front();
    if (first < 2) continue;
    EXPECT_GE((first - 1) * size, kCacheLineBytes) << "class " << cl << " of " << size << " bytes";
  }
}

}  // namespace
}  // namespace rseqmalloc

// Slow start in the fallback front end (allocator/thread_cache.h): a thread's free list for a
// class grows as the per-CPU capacities do (allocator/cache_growth.h). Runs in every rseq mode;
// only where the front end is the per-thread cache (rseq off or blocked) is there a list to look
// at, and elsewhere it skips visibly.
#include <stdlib.h>

#include <thread>
#include <vector>

#include "allocator/cache_growth.h"
#include "allocator/rseqmalloc.h"
#include "allocator/size_classes.h"
#include "allocator/thread_cache.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

bool ThreadFrontEnd() {
  uint64_t slots = 1;
  return rseqmalloc_get_stat("cpu_cache.slots", &slots) == 0 && slots == 0;
}

constexpr size_t kBytes = 2048;

TEST(ThreadCacheSlowStart, AClassUsedOnceHoldsAFewObjectsNotABatch) {
  if (!ThreadFrontEnd()) GTEST_SKIP() << "the front end is the per-CPU cache in this mode";
  const uint32_t cl = SizeMap::ClassFor(kBytes);
  ASSERT_GE(BatchOf(cl), 16u);
  uint32_t limit_after_malloc = 0, length_after_malloc = 0, limit_after_free = 0,
           length_after_free = 0;
  // A new thread, so that its cache starts empty.
  std::thread([&] {
    void* p = malloc(kBytes);
    ThreadCache* cache = ThreadCache::Current();
    if (p == nullptr || cache == nullptr) return;
    limit_after_malloc = cache->ClassLimit(cl);
    length_after_malloc = cache->ClassLength(cl);
    free(p);
    limit_after_free = cache->ClassLimit(cl);
    length_after_free = cache->ClassLength(cl);
  }).join();
  // The miss made room for 2 and fetched 3: one for the caller, two kept.
  EXPECT_EQ(limit_after_malloc, kSlowStartCapacity);
  EXPECT_EQ(length_after_malloc, kSlowStartCapacity);
  // The free found the list full and doubled its room instead of sending a batch away.
  EXPECT_EQ(limit_after_free, 2 * kSlowStartCapacity);
  EXPECT_EQ(length_after_free, kSlowStartCapacity + 1);
}

TEST(ThreadCacheSlowStart, AListFilledInALoopReachesAFullBatch) {
  if (!ThreadFrontEnd()) GTEST_SKIP() << "the front end is the per-CPU cache in this mode";
  const uint32_t cl = SizeMap::ClassFor(kBytes);
  const size_t batch = BatchOf(cl);
  uint32_t limit = 0;
  size_t held_at_most = 0;
  std::thread([&] {
    std::vector<void*> objects(8 * batch);
    for (void*& p : objects) p = malloc(kBytes);
    ThreadCache* cache = ThreadCache::Current();
    if (cache == nullptr) return;
    limit = cache->ClassLimit(cl);
    for (void* p : objects) {
      free(p);
      if (cache->ClassLength(cl) > held_at_most) held_at_most = cache->ClassLength(cl);
    }
  }).join();
  // Refills doubled the room up to a batch, then grew it a batch at a time.
  EXPECT_GE(limit, batch);
  // Frees never kept more than the room allows.
  EXPECT_LE(held_at_most, static_cast<size_t>(limit));
}

}  // namespace
}  // namespace rseqmalloc

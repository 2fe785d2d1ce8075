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
#include "allocator/transfer_cache.h"
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
  // Refills come whole from the central list, not short from a transfer-cache shard that holds
  // what an earlier thread left.
  g_transfer_caches[cl].FlushToCentral();
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

TEST(ThreadCacheSlowStart, AListFilledInALoopDoublesItsRoomUpToABatch) {
  if (!ThreadFrontEnd()) GTEST_SKIP() << "the front end is the per-CPU cache in this mode";
  const uint32_t cl = SizeMap::ClassFor(kBytes);
  const size_t batch = BatchOf(cl);
  ASSERT_EQ(batch, 32u);  // the sequence below is worked out for it
  // Made here, so that their own storage (a 2 KiB array) is not the new thread's first object.
  std::vector<void*> objects(4 * batch);
  std::vector<uint32_t> limits;
  limits.reserve(objects.size());
  g_transfer_caches[cl].FlushToCentral();  // whole refills, as above
  std::thread([&] {
    for (void*& p : objects) {
      p = malloc(kBytes);
      ThreadCache* cache = ThreadCache::Current();
      if (p == nullptr || cache == nullptr) return;
      const uint32_t limit = cache->ClassLimit(cl);
      if (limits.empty() || limits.back() != limit) limits.push_back(limit);
    }
    for (void* p : objects) free(p);
  }).join();
  // Every refill grew the room: doubling from 2 up to a batch, then a batch at a time. The
  // refills fetch 3, 5, 9, 17, then 32 objects: 7 of them for 128.
  const std::vector<uint32_t> expected = {2, 4, 8, 16, 32, 64, 96};
  EXPECT_EQ(limits, expected);
}

}  // namespace
}  // namespace rseqmalloc

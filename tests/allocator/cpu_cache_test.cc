// How a per-CPU slot's capacity for a class grows (allocator/cpu_cache.h): slow start up to a
// batch, so that a class used now and then keeps a few objects per CPU instead of a batch.
// Runs in every rseq mode; where the front end is not the per-CPU cache it skips visibly.
#include <sched.h>
#include <stdlib.h>

#include <vector>

#include "allocator/cpu_cache.h"
#include "allocator/rseqmalloc.h"
#include "allocator/size_classes.h"
#include "allocator/transfer_cache.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

// Pins the thread to the CPU it runs on for the test's lifetime, so that the slot stays the same
// (cpu_id keys, and mm_cid keys of a single-threaded process); slot() is -1 without the front
// end. The thread's affinity is restored afterwards.
class PinnedSlot {
 public:
  PinnedSlot() {
    uint64_t slots = 0;
    if (rseqmalloc_get_stat("cpu_cache.slots", &slots) != 0 || slots == 0) return;
    if (sched_getaffinity(0, sizeof(saved_), &saved_) != 0) return;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) return;
    pinned_ = true;
    slot_ = g_cpu_cache.CurrentSlot();
  }
  ~PinnedSlot() {
    if (pinned_) sched_setaffinity(0, sizeof(saved_), &saved_);
  }
  int slot() const { return slot_; }

 private:
  cpu_set_t saved_;
  bool pinned_ = false;
  int slot_ = -1;
};

// The 2 KiB class: a batch is 32 objects (64 KiB), which the old rule cached on first use.
constexpr size_t kBytes = 2048;

TEST(CpuCacheSlowStart, AClassUsedOnceHoldsAFewObjectsNotABatch) {
  const PinnedSlot pinned;
  const int slot = pinned.slot();
  if (slot < 0) GTEST_SKIP() << "the front end is not the per-CPU cache in this mode";
  const uint32_t cl = SizeMap::ClassFor(kBytes);
  ASSERT_GE(SizeMap::BatchSize(cl), 16u);
  rseqmalloc_flush_cpu_cache();  // capacity 0 in this slot, as in a new process
  // Refills then come whole from the central list, not short from what the flush left in a
  // transfer-cache shard (a shard hands out what it has).
  g_transfer_caches[cl].FlushToCentral();
  ASSERT_EQ(g_cpu_cache.ClassCapacity(slot, cl), 0u);

  void* p = malloc(kBytes);
  ASSERT_NE(p, nullptr);
  // The underflow granted 2 and fetched 3: one for us, two kept.
  EXPECT_EQ(g_cpu_cache.ClassCapacity(slot, cl), 2u);
  EXPECT_EQ(g_cpu_cache.ClassObjects(slot, cl), 2u);
  free(p);
  // The push overflowed the 2 and doubled the capacity; the stack holds what came back.
  EXPECT_EQ(g_cpu_cache.ClassCapacity(slot, cl), 4u);
  EXPECT_EQ(g_cpu_cache.ClassObjects(slot, cl), 3u);
}

TEST(CpuCacheSlowStart, AClassAllocatedInALoopReachesAFullBatchInAFewMisses) {
  const PinnedSlot pinned;
  const int slot = pinned.slot();
  if (slot < 0) GTEST_SKIP() << "the front end is not the per-CPU cache in this mode";
  const uint32_t cl = SizeMap::ClassFor(kBytes);
  const size_t batch = SizeMap::BatchSize(cl);
  ASSERT_EQ(batch, 32u);  // the sequence below is worked out for it
  rseqmalloc_flush_cpu_cache();
  g_transfer_caches[cl].FlushToCentral();  // whole refills, as above
  std::vector<void*> objects(16 * batch);  // 4 KiB: another class
  const uint64_t misses_before = g_cpu_cache.SlotMisses(slot);
  for (void*& p : objects) {
    p = malloc(kBytes);
    ASSERT_NE(p, nullptr);
  }
  const uint64_t misses = g_cpu_cache.SlotMisses(slot) - misses_before;
  // Refills of 3, 5, 9 and 17 objects (capacity 2, 4, 8, 16), then a batch each: 19 misses for
  // 512 objects. A first miss granting a whole batch would take 16: so no fewer than 19 says
  // the slow start ran, and no more than 19 says it ended at a batch.
  const size_t slow_start = 3 + 5 + 9 + 17;
  const uint64_t expected = 4 + (objects.size() - slow_start + batch - 1) / batch;
  EXPECT_EQ(misses, expected);
  EXPECT_EQ(g_cpu_cache.ClassCapacity(slot, cl), batch);
  for (void* p : objects) free(p);
}

}  // namespace
}  // namespace rseqmalloc

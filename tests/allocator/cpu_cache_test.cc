// How a per-CPU slot's capacity for a class grows (allocator/cpu_cache.h): slow start up to a
// batch, so that a class used now and then keeps a few objects per CPU instead of a batch.
// Runs in every rseq mode; where the front end is not the per-CPU cache it skips visibly.
#include <sched.h>
#include <stdlib.h>

#include <vector>

#include "allocator/cpu_cache.h"
#include "allocator/rseqmalloc.h"
#include "allocator/size_classes.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

// Pins the thread to the CPU it runs on, so that the slot stays the same (cpu_id keys, and
// mm_cid keys of a single-threaded process), and returns that slot; -1 without the front end.
int PinnedSlot() {
  uint64_t slots = 0;
  if (rseqmalloc_get_stat("cpu_cache.slots", &slots) != 0 || slots == 0) return -1;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(sched_getcpu(), &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) return -1;
  return g_cpu_cache.CurrentSlot();
}

// The 2 KiB class: a batch is 32 objects (64 KiB), which the old rule cached on first use.
constexpr size_t kBytes = 2048;

TEST(CpuCacheSlowStart, AClassUsedOnceHoldsAFewObjectsNotABatch) {
  const int slot = PinnedSlot();
  if (slot < 0) GTEST_SKIP() << "the front end is not the per-CPU cache in this mode";
  const uint32_t cl = SizeMap::ClassFor(kBytes);
  ASSERT_GE(SizeMap::BatchSize(cl), 16u);
  rseqmalloc_flush_cpu_cache();  // capacity 0 in this slot, as in a new process
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
  const int slot = PinnedSlot();
  if (slot < 0) GTEST_SKIP() << "the front end is not the per-CPU cache in this mode";
  const uint32_t cl = SizeMap::ClassFor(kBytes);
  const size_t batch = SizeMap::BatchSize(cl);
  rseqmalloc_flush_cpu_cache();
  std::vector<void*> objects(16 * batch);  // allocates from another class
  const uint64_t misses_before = g_cpu_cache.SlotMisses(slot);
  for (void*& p : objects) {
    p = malloc(kBytes);
    ASSERT_NE(p, nullptr);
  }
  const uint64_t misses = g_cpu_cache.SlotMisses(slot) - misses_before;
  // Doubling from 2 reaches a batch in log2(batch / 2) steps; from then on every refill is a
  // batch. Growing only when misses alternate would have refilled 3 objects at a time.
  size_t steps = 0;
  for (size_t c = 2; c < batch; c *= 2) ++steps;
  EXPECT_GE(misses, objects.size() / batch);
  EXPECT_LE(misses, steps + 1 + objects.size() / batch + 1);
  EXPECT_EQ(g_cpu_cache.ClassCapacity(slot, cl), batch);
  for (void* p : objects) free(p);
}

}  // namespace
}  // namespace rseqmalloc

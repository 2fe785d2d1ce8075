#include "allocator/spin_lock.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

TEST(SpinLockTest, TryLockRespectsHolder) {
  SpinLock lock;
  EXPECT_TRUE(lock.TryLock());
  EXPECT_TRUE(lock.IsHeld());
  EXPECT_FALSE(lock.TryLock());
  lock.Unlock();
  EXPECT_FALSE(lock.IsHeld());
  {
    SpinLockHolder h(&lock);
    EXPECT_FALSE(lock.TryLock());
  }
  EXPECT_TRUE(lock.TryLock());
  lock.Unlock();
}

// More threads than the machine has cores, so holders get preempted and waiters must yield.
TEST(SpinLockTest, MutualExclusionUnderContention) {
  static SpinLock lock;  // constant-initialised
  constexpr int kThreads = 8;
  constexpr int kIterations = 200000;
  uint64_t counter = 0;  // deliberately not atomic: only the lock protects it
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kIterations; ++i) {
        SpinLockHolder h(&lock);
        if (inside.fetch_add(1, std::memory_order_relaxed) != 0) overlap = true;
        ++counter;
        inside.fetch_sub(1, std::memory_order_relaxed);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_EQ(counter, uint64_t{kThreads} * kIterations);
}

}  // namespace
}  // namespace rseqmalloc

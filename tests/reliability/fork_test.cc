// fork() while other threads are inside the allocator: the child must be able to allocate at
// once (no lock left held by a thread that does not exist in the child), start threads of its own,
// and exit cleanly. A child that hangs is killed at a deadline and reported as a deadlock.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

constexpr double kChildDeadlineSeconds = 20;

// Threads that allocate, write, verify and free without pause until told to stop; any block
// found changed sets corrupted.
class AllocationNoise {
 public:
  explicit AllocationNoise(int threads) {
    for (int t = 0; t < threads; ++t) workers_.emplace_back([this, t] { Run(t); });
  }
  ~AllocationNoise() {
    stop_.store(true);
    for (auto& w : workers_) w.join();
  }
  bool corrupted() const { return corrupted_.load(); }

 private:
  void Run(int t) {
    constexpr int kSlots = 64;
    void* blocks[kSlots] = {};
    size_t sizes[kSlots] = {};
    uint64_t state = 0x1234567 + t;
    while (!stop_.load(std::memory_order_relaxed)) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      int slot = static_cast<int>((state >> 33) % kSlots);
      if (blocks[slot] != nullptr) {
        if (CheckPattern(blocks[slot], sizes[slot], slot + 100 * t) != sizes[slot]) {
          corrupted_.store(true);
        }
        free(blocks[slot]);
      }
      // Mostly small, now and then a large block (its own path through the page heap).
      sizes[slot] = ((state >> 20) & 63) == 0 ? 300000 : 1 + ((state >> 40) % 2048);
      blocks[slot] = malloc(sizes[slot]);
      FillPattern(blocks[slot], sizes[slot], slot + 100 * t);
    }
    for (int s = 0; s < kSlots; ++s) free(blocks[s]);
  }

  std::atomic<bool> stop_{false};
  std::atomic<bool> corrupted_{false};
  std::vector<std::thread> workers_;
};

// What a child does first: allocate and verify right away, in this thread and in a new one.
int ChildAllocates(bool use_exit) {
  std::vector<void*> blocks;
  for (int i = 0; i < 500; ++i) {
    size_t size = 1 + (i * 37) % 5000;
    void* p = malloc(size);
    if (p == nullptr) return 3;
    FillPattern(p, size, i);
    blocks.push_back(p);
  }
  for (int i = 0; i < 500; ++i) {
    if (CheckPattern(blocks[i], 1 + (i * 37) % 5000, i) != 1 + (i * 37) % 5000u) return 4;
    free(blocks[i]);
  }
  int thread_result = 1;
  std::thread helper([&thread_result] {
    std::string text;
    for (int i = 0; i < 1000; ++i) text += std::to_string(i);
    thread_result = text.size() == 2890 ? 0 : 5;
  });
  helper.join();
  if (thread_result != 0) return thread_result;
  // exit() runs atexit handlers and static destructors, which free; _exit() does not.
  if (use_exit) exit(0);
  return 0;
}

TEST(Fork, TwoHundredForksWhileThreadsAllocate) {
  AllocationNoise noise(2);
  for (int i = 0; i < 200; ++i) {
    ChildOutcome outcome =
        RunInChild([i] { return ChildAllocates(i % 2 == 0); }, kChildDeadlineSeconds);
    ASSERT_TRUE(outcome.exited && outcome.exit_code == 0)
        << "fork #" << i << ": child " << outcome.Describe();
  }
  EXPECT_FALSE(noise.corrupted());
}

TEST(Fork, ForksFromSeveralThreadsAtOnce) {
  AllocationNoise noise(2);
  std::atomic<int> failures{0};
  std::string first_failure;
  std::mutex failure_lock;
  std::vector<std::thread> forkers;
  for (int t = 0; t < 2; ++t) {
    forkers.emplace_back([&, t] {
      for (int i = 0; i < 30; ++i) {
        ChildOutcome outcome = RunInChild([] { return ChildAllocates(false); },
                                          kChildDeadlineSeconds);
        if (!(outcome.exited && outcome.exit_code == 0)) {
          if (failures.fetch_add(1) == 0) {
            std::lock_guard<std::mutex> hold(failure_lock);
            first_failure = "thread " + std::to_string(t) + " fork #" + std::to_string(i) +
                            ": child " + outcome.Describe();
          }
        }
      }
    });
  }
  for (auto& f : forkers) f.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_FALSE(noise.corrupted());
}

// The parent's heap after many forks is still whole: blocks made before keep their contents.
TEST(Fork, ParentHeapIntactAfterForks) {
  std::vector<void*> blocks;
  for (int i = 0; i < 500; ++i) {
    blocks.push_back(malloc(100 + i));
    FillPattern(blocks.back(), 100 + i, i);
  }
  for (int i = 0; i < 20; ++i) {
    ChildOutcome outcome = RunInChild(
        [&blocks] {
          // The child frees the parent's blocks in its own copy of the heap.
          for (void* p : blocks) free(p);
          return ChildAllocates(false);
        },
        kChildDeadlineSeconds);
    ASSERT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
  }
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(CheckPattern(blocks[i], 100 + i, i), 100u + i) << "block " << i;
    free(blocks[i]);
  }
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

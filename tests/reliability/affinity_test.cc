// CPU affinity changed under running threads: a thread's CPU (and so its per-CPU cache slot)
// changes between any two instructions, also in the middle of a critical section. Objects move
// between threads as well, so that a block freed on one CPU is reused on another. At the end every
// object is accounted for: nothing lost, nothing handed out twice.
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

// A handoff slot per pair of threads: one side fills, the other verifies and frees.
struct Mailbox {
  std::mutex lock;
  std::vector<std::pair<void*, uint64_t>> items;
};

TEST(Affinity, MigrationsUnderCrossThreadAllocation) {
  const std::vector<int> cpus = AllowedCpus();
  ASSERT_FALSE(cpus.empty());
  printf("allowed CPUs: %zu\n", cpus.size());
  constexpr int kWorkers = 4;
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  std::atomic<long> allocated{0}, freed{0};
  std::atomic<int> tids[kWorkers];
  Mailbox boxes[kWorkers];
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    tids[w].store(0);
    workers.emplace_back([&, w] {
      tids[w].store(static_cast<int>(syscall(SYS_gettid)));
      uint64_t state = 999 + w;
      std::vector<std::pair<void*, uint64_t>> mine;
      while (!stop.load(std::memory_order_relaxed)) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t seed = state >> 16;
        size_t size = 8 + seed % 900;
        void* p = malloc(size);
        FillPattern(p, size, seed);
        allocated.fetch_add(1, std::memory_order_relaxed);
        if (state & (1ull << 60)) {
          std::lock_guard<std::mutex> hold(boxes[(w + 1) % kWorkers].lock);
          boxes[(w + 1) % kWorkers].items.push_back({p, seed});
        } else {
          mine.push_back({p, seed});
        }
        if (mine.size() > 256 || (state & 0xff) == 0) {
          std::vector<std::pair<void*, uint64_t>> taken;
          {
            std::lock_guard<std::mutex> hold(boxes[w].lock);
            taken.swap(boxes[w].items);
          }
          taken.insert(taken.end(), mine.begin(), mine.end());
          mine.clear();
          for (auto& item : taken) {
            size_t item_size = 8 + item.second % 900;
            if (CheckPattern(item.first, item_size, item.second) != item_size) bad.fetch_add(1);
            free(item.first);
            freed.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
      for (auto& item : mine) {
        free(item.first);
        freed.fetch_add(1);
      }
    });
  }

  // Move every worker to another allowed CPU, over and over, and the whole process now and then.
  long moves = 0;
  double end = NowSeconds() + 3.0;
  while (NowSeconds() < end) {
    for (int w = 0; w < kWorkers; ++w) {
      int tid = tids[w].load();
      if (tid == 0) continue;
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpus[(moves + w) % cpus.size()], &one);
      if (sched_setaffinity(tid, sizeof one, &one) == 0) ++moves;
    }
    if (moves % 64 == 0) {
      cpu_set_t all;
      CPU_ZERO(&all);
      for (int c : cpus) CPU_SET(c, &all);
      for (int w = 0; w < kWorkers; ++w) {
        if (tids[w].load() != 0) sched_setaffinity(tids[w].load(), sizeof all, &all);
      }
    }
    struct timespec pause = {0, 50 * 1000};
    nanosleep(&pause, nullptr);
  }
  stop.store(true);
  for (auto& t : workers) t.join();
  // What is still in the mailboxes was handed over but not yet taken.
  for (auto& box : boxes) {
    for (auto& item : box.items) {
      size_t item_size = 8 + item.second % 900;
      if (CheckPattern(item.first, item_size, item.second) != item_size) bad.fetch_add(1);
      free(item.first);
      freed.fetch_add(1);
    }
  }
  printf("%ld migrations, %ld objects\n", moves, allocated.load());
  EXPECT_GT(moves, 100);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(allocated.load(), freed.load());
}

// After the storm, addresses handed out together are distinct: a per-CPU stack corrupted by a
// migration would give the same block twice.
TEST(Affinity, NoBlockHandedOutTwiceAfterMigrations) {
  const std::vector<int> cpus = AllowedCpus();
  std::vector<void*> live;
  std::set<void*> seen;
  long duplicates = 0;
  for (int round = 0; round < 200; ++round) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[round % cpus.size()], &one);
    sched_setaffinity(0, sizeof one, &one);
    for (int i = 0; i < 200; ++i) {
      void* p = malloc(32 + (i % 4) * 16);
      if (!seen.insert(p).second) ++duplicates;
      live.push_back(p);
    }
    if (round % 3 == 2) {
      for (size_t i = 0; i < live.size(); i += 2) {
        seen.erase(live[i]);
        free(live[i]);
        live[i] = nullptr;
      }
      std::vector<void*> kept;
      for (void* p : live) {
        if (p != nullptr) kept.push_back(p);
      }
      live.swap(kept);
    }
  }
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int c : cpus) CPU_SET(c, &all);
  sched_setaffinity(0, sizeof all, &all);
  for (void* p : live) free(p);
  EXPECT_EQ(duplicates, 0);
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

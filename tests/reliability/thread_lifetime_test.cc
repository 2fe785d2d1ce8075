// Threads that come and go: thousands of short-lived threads (each one's per-thread or per-CPU
// state must be set up and torn down without leaking), and threads that exit while other threads
// still hold, read and free the objects they allocated.
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

struct Block {
  void* ptr;
  size_t size;
  uint64_t seed;
};

// Mixed sizes, mostly small, some page-sized and one large per thread.
size_t SizeFor(uint64_t i) {
  if (i % 97 == 0) return 200000;
  if (i % 13 == 0) return 4096 + i % 4096;
  return 1 + (i * 2654435761u) % 1024;
}

std::mutex g_survivor_lock;
std::vector<Block> g_survivors;
std::atomic<int> g_bad_blocks{0};

// One short life: allocate, verify, free most, and leave a few blocks behind for another thread.
void ShortLife(uint64_t id) {
  constexpr int kBlocks = 100;
  Block blocks[kBlocks];
  for (int i = 0; i < kBlocks; ++i) {
    uint64_t n = id * kBlocks + i;
    blocks[i] = {malloc(SizeFor(n)), SizeFor(n), n};
    FillPattern(blocks[i].ptr, blocks[i].size, n);
  }
  for (int i = 0; i < kBlocks; ++i) {
    if (CheckPattern(blocks[i].ptr, blocks[i].size, blocks[i].seed) != blocks[i].size) {
      g_bad_blocks.fetch_add(1);
    }
    if (i % 25 == 0) {
      std::lock_guard<std::mutex> hold(g_survivor_lock);
      g_survivors.push_back(blocks[i]);
    } else {
      free(blocks[i].ptr);
    }
  }
}

TEST(ThreadLifetime, ThousandsOfShortLivedThreads) {
  constexpr int kThreads = 3000;
  constexpr int kAlive = 8;
  // Warm up so that the measurement starts from a heap that has seen this workload.
  for (int i = 0; i < kAlive; ++i) std::thread(ShortLife, 1000000 + i).join();
  {
    std::lock_guard<std::mutex> hold(g_survivor_lock);
    for (const Block& b : g_survivors) free(b.ptr);
    g_survivors.clear();
  }
  // malloc_trim(0) returns free memory to the OS on demand (glibc and rseqmalloc both offer it),
  // so that the comparison is about memory still held, not about the release policy.
  malloc_trim(0);
  long rss_before = CurrentRssKib();
  double start = NowSeconds();
  for (int base = 0; base < kThreads; base += kAlive) {
    std::vector<std::thread> wave;
    for (int i = 0; i < kAlive; ++i) {
      if (i % 2 == 0) {
        wave.emplace_back(ShortLife, base + i);
      } else {
        // Detached threads die on their own schedule, during the next wave.
        std::thread(ShortLife, base + i).detach();
      }
    }
    for (auto& t : wave) t.join();
  }
  // Detached threads finish within a moment; wait until all their survivors are in.
  constexpr size_t kExpectedSurvivors = static_cast<size_t>(kThreads) * 4;
  while (NowSeconds() - start < 60) {
    {
      std::lock_guard<std::mutex> hold(g_survivor_lock);
      if (g_survivors.size() >= kExpectedSurvivors) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::lock_guard<std::mutex> hold(g_survivor_lock);
  ASSERT_EQ(g_survivors.size(), kExpectedSurvivors) << "threads lost or unfinished after 60 s";
  EXPECT_EQ(g_bad_blocks.load(), 0);
  // The dead threads' blocks are freed here, by a thread that never allocated them.
  for (const Block& b : g_survivors) {
    EXPECT_EQ(CheckPattern(b.ptr, b.size, b.seed), b.size) << "survivor " << b.seed;
    free(b.ptr);
  }
  g_survivors.clear();
  g_survivors.shrink_to_fit();
  malloc_trim(0);
  long rss_after = CurrentRssKib();
  printf("3000 threads in %.2f s; RSS %ld KiB before, %ld KiB after\n", NowSeconds() - start,
         rss_before, rss_after);
  // Per-thread state that is never returned would grow with the number of threads ever created
  // (3000 × 16 KiB is already 47 MiB). Allow what the caches of a few live threads may hold.
  EXPECT_LT(rss_after - rss_before, 40 * 1024) << "resident memory grew with dead threads";
}

// Producers allocate a batch, hand it over and exit at once; consumers wait until the producer
// is gone, then verify and free its objects.
TEST(ThreadLifetime, ThreadsExitWhileOthersFreeTheirObjects) {
  struct Batch {
    std::thread producer;
    bool handle_stored = false;
    std::vector<Block> blocks;
  };
  std::mutex lock;
  std::condition_variable ready;
  std::deque<Batch*> queue;
  constexpr int kBatches = 400;
  std::atomic<int> consumed{0};
  std::atomic<int> bad{0};

  std::atomic<int> published{0};
  std::vector<std::thread> consumers;
  for (int c = 0; c < 2; ++c) {
    consumers.emplace_back([&] {
      for (;;) {
        Batch* batch;
        {
          std::unique_lock<std::mutex> hold(lock);
          ready.wait(hold, [&] { return !queue.empty(); });
          batch = queue.front();
          queue.pop_front();
        }
        if (batch == nullptr) return;  // the end marker
        batch->producer.join();       // the allocating thread no longer exists
        for (const Block& b : batch->blocks) {
          if (CheckPattern(b.ptr, b.size, b.seed) != b.size) bad.fetch_add(1);
          free(b.ptr);
        }
        delete batch;
        consumed.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < kBatches; ++i) {
    Batch* batch = new Batch;
    batch->blocks.resize(500);
    std::thread producer([&, batch, i] {
      for (int j = 0; j < 500; ++j) {
        uint64_t n = static_cast<uint64_t>(i) * 500 + j;
        batch->blocks[j] = {malloc(SizeFor(n)), SizeFor(n), n};
        FillPattern(batch->blocks[j].ptr, batch->blocks[j].size, n);
      }
      // Publish only once the main thread has stored our handle, so the consumer can join us.
      std::unique_lock<std::mutex> hold(lock);
      ready.wait(hold, [batch] { return batch->handle_stored; });
      queue.push_back(batch);
      published.fetch_add(1);
      ready.notify_all();
    });
    {
      std::lock_guard<std::mutex> hold(lock);
      batch->producer = std::move(producer);
      batch->handle_stored = true;
      ready.notify_all();
    }
    if (i % 16 == 15) {
      // Bound the backlog so the test's footprint stays small.
      while (consumed.load() < i - 32) std::this_thread::yield();
    }
  }
  // The end markers go behind every batch: a producer still allocating must publish first.
  while (published.load() < kBatches) std::this_thread::yield();
  {
    std::lock_guard<std::mutex> hold(lock);
    queue.push_back(nullptr);
    queue.push_back(nullptr);
    ready.notify_all();
  }
  for (auto& c : consumers) c.join();
  EXPECT_EQ(consumed.load(), kBatches);
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

// Allocation at the edges of a program's life: before any constructor has run, and from a
// thread that is exiting (TLS destructors, pthread key destructors) after the allocator's own
// per-thread state may already be gone.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "allocator/rseqmalloc.h"
#include "gtest/gtest.h"

namespace {

// Written by a constructor that runs before every ordinary one (priority 101 is the first
// available to programs); gcc leaves the allocator's own dynamic initialisation to run time,
// so this proves nothing of the allocator needed a constructor.
bool g_early_ok = false;

__attribute__((constructor(101))) void AllocateBeforeAnyConstructor() {
  char* block = static_cast<char*>(malloc(100));
  int* number = new int(42);
  if (block == nullptr || *number != 42) return;
  memset(block, 'x', 100);
  void* big = malloc(1 << 20);
  g_early_ok = big != nullptr && block[99] == 'x';
  free(big);
  delete number;
  free(block);
}

TEST(Lifecycle, AllocationBeforeAnyConstructorWorks) { EXPECT_TRUE(g_early_ok); }

std::atomic<int> g_exit_allocations{0};

struct AllocatesWhenDestroyed {
  ~AllocatesWhenDestroyed() {
    std::vector<std::string> strings;
    for (int i = 0; i < 100; ++i) strings.emplace_back(100 + i, 'y');
    for (const auto& s : strings) {
      if (s.size() >= 100 && s.back() == 'y') g_exit_allocations.fetch_add(1);
    }
  }
};

pthread_key_t g_key;
void KeyDestructor(void* value) {
  free(value);
  void* again = malloc(256);
  memset(again, 1, 256);
  free(again);
  g_exit_allocations.fetch_add(1);
}

TEST(Lifecycle, ExitingThreadsCanAllocateAndFree) {
  ASSERT_EQ(pthread_key_create(&g_key, KeyDestructor), 0);
  constexpr int kThreads = 64;
  for (int round = 0; round < 4; ++round) {
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([] {
        thread_local AllocatesWhenDestroyed allocates_at_exit;
        (void)&allocates_at_exit;
        pthread_setspecific(g_key, malloc(64));
        void* p = malloc(1000);
        free(p);
      });
    }
    for (auto& t : threads) t.join();
  }
  EXPECT_EQ(g_exit_allocations.load(), 4 * kThreads * 101);
}

}  // namespace

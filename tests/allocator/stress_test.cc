// Many threads allocate, fill, hand objects to each other, verify and free, while a churn thread
// moves them between CPUs and a signal storm interrupts their critical sections. A lost, doubled
// or overlapping object shows up as a corrupted pattern.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace {

constexpr int kThreads = 8;
constexpr int kOpsPerThread = 60000;

struct Header {
  uint64_t tag;   // owner pattern, derived from the address and the size
  uint64_t size;
};

uint64_t TagOf(const void* p, size_t size) {
  return (reinterpret_cast<uintptr_t>(p) * 0x9E3779B97F4A7C15ull) ^ size;
}

void Fill(void* p, size_t size) {
  auto* h = static_cast<Header*>(p);
  h->tag = TagOf(p, size);
  h->size = size;
  unsigned char* bytes = static_cast<unsigned char*>(p);
  const unsigned char fill = static_cast<unsigned char>(h->tag);
  memset(bytes + sizeof(Header), fill, size - sizeof(Header));
}

// Returns false when the object was overwritten by someone else.
bool Verify(const void* p) {
  const auto* h = static_cast<const Header*>(p);
  const size_t size = h->size;
  if (h->tag != TagOf(p, size)) return false;
  const unsigned char* bytes = static_cast<const unsigned char*>(p);
  const unsigned char fill = static_cast<unsigned char>(h->tag);
  // Ends and a stride through the middle: a full scan would dominate the run time.
  for (size_t i = sizeof(Header); i < size; i += (i < 64 ? 1 : 509)) {
    if (bytes[i] != fill) return false;
  }
  return size == sizeof(Header) || bytes[size - 1] == fill;
}

size_t RandomSize(std::mt19937_64& rng) {
  const uint64_t r = rng();
  switch (r % 16) {
    case 0: return 16 + (r >> 8) % (1 << 16);           // up to 64 KiB
    case 1: return (r >> 8) % 64 == 0 ? (300 << 10) : 2000;  // sometimes large
    default: return 16 + (r >> 8) % 512;                 // mostly small
  }
}

// A mailbox per thread: others drop objects in, the owner frees them.
struct Mailbox {
  std::mutex mu;
  std::vector<void*> items;
};

std::atomic<int> g_finished{0};
std::atomic<uint64_t> g_corrupt{0};
std::atomic<uint64_t> g_signals{0};

void OnSignal(int) { g_signals.fetch_add(1, std::memory_order_relaxed); }

void Worker(int id, Mailbox* boxes) {
  std::mt19937_64 rng(id * 7919 + 1);
  std::vector<void*> mine;
  std::vector<void*> inbox;
  for (int op = 0; op < kOpsPerThread; ++op) {
    const uint64_t r = rng();
    if (r % 3 != 0 || mine.empty()) {
      const size_t size = RandomSize(rng);
      void* p = malloc(size);
      ASSERT_NE(p, nullptr);
      Fill(p, size);
      mine.push_back(p);
    } else if (r % 3 == 0 && (r >> 4) % 2 == 0) {
      void* p = mine.back();  // LIFO free
      mine.pop_back();
      if (!Verify(p)) g_corrupt++;
      free(p);
    } else {
      void* p = mine[(r >> 8) % mine.size()];  // hand a random object to another thread
      std::swap(mine[(r >> 8) % mine.size()], mine.back());
      mine.pop_back();
      Mailbox& box = boxes[(id + 1 + (r >> 16) % (kThreads - 1)) % kThreads];
      std::lock_guard<std::mutex> lock(box.mu);
      box.items.push_back(p);
    }
    if (op % 256 == 0) {
      {
        std::lock_guard<std::mutex> lock(boxes[id].mu);
        inbox.swap(boxes[id].items);
      }
      for (void* p : inbox) {
        if (!Verify(p)) g_corrupt++;
        free(p);
      }
      inbox.clear();
    }
  }
  for (void* p : mine) {
    if (!Verify(p)) g_corrupt++;
    free(p);
  }
  g_finished.fetch_add(1);
}

TEST(Stress, CrossThreadFreesUnderMigrationAndSignals) {
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);

  std::vector<Mailbox> boxes(kThreads);
  std::vector<std::thread> workers;
  std::vector<pthread_t> handles;
  for (int i = 0; i < kThreads; ++i) {
    workers.emplace_back(Worker, i, boxes.data());
    handles.push_back(workers.back().native_handle());
  }
  // Churn: move every worker between CPUs and interrupt it with signals until they finish.
  std::thread churn([&] {
    const int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    uint64_t round = 0;
    // Handles stay valid until joined, and workers are joined only after the churn ends.
    while (g_finished.load() < kThreads) {
      for (int i = 0; i < kThreads; ++i) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(static_cast<int>((round + i) % cpus), &set);
        pthread_setaffinity_np(handles[i], sizeof(set), &set);  // may fail once it exited
        pthread_kill(handles[i], SIGUSR1);
      }
      ++round;
      struct timespec pause = {0, 200000};
      nanosleep(&pause, nullptr);
    }
  });
  churn.join();
  for (auto& t : workers) t.join();
  // Leftovers in mailboxes belong to nobody now.
  for (auto& box : boxes) {
    for (void* p : box.items) {
      if (!Verify(p)) g_corrupt++;
      free(p);
    }
  }
  EXPECT_EQ(g_corrupt.load(), 0u);
  EXPECT_GT(g_signals.load(), 0u);
}

}  // namespace

// Signals in the middle of allocation storms. A signal that lands inside an rseq critical section
// aborts it and the kernel restarts the thread at the abort handler; one that lands in a locked
// slow path must find the allocator consistent when the handler returns. Handlers here touch only
// async-signal-safe things, except on a thread that is known to be outside malloc (blocked in
// sigsuspend), where the handler allocates, as programs that do work in handlers rely on.
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

std::atomic<long> g_safe_handler_runs{0};
volatile sig_atomic_t g_last_signal = 0;

// Async-signal-safe only: atomics, errno saved and restored, a write(2).
void SafeHandler(int sig) {
  int saved_errno = errno;
  g_safe_handler_runs.fetch_add(1, std::memory_order_relaxed);
  g_last_signal = sig;
  if (g_safe_handler_runs.load(std::memory_order_relaxed) % 4096 == 0) {
    static const char dot = '.';
    ssize_t ignored = write(STDOUT_FILENO, &dot, 1);
    (void)ignored;
  }
  errno = saved_errno;
}

void Install(int sig, void (*handler)(int)) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ASSERT_EQ(sigaction(sig, &action, nullptr), 0);
}

// Allocates, fills, verifies and frees until stop; returns the number of corrupted blocks.
long Storm(int id, const std::atomic<bool>& stop) {
  constexpr int kSlots = 128;
  void* blocks[kSlots] = {};
  size_t sizes[kSlots] = {};
  bool from_new[kSlots] = {};  // released with the matching function
  long bad = 0;
  uint64_t state = 77 + id;
  while (!stop.load(std::memory_order_relaxed)) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    int slot = static_cast<int>((state >> 33) % kSlots);
    if (blocks[slot] != nullptr) {
      if (CheckPattern(blocks[slot], sizes[slot], slot * 31 + id) != sizes[slot]) ++bad;
      if (from_new[slot]) {
        ::operator delete(blocks[slot]);
      } else {
        free(blocks[slot]);
      }
    }
    sizes[slot] = ((state >> 24) & 255) == 0 ? 150000 : 1 + (state >> 44) % 700;
    from_new[slot] = (state & 3) == 0;
    blocks[slot] = from_new[slot] ? ::operator new(sizes[slot]) : malloc(sizes[slot]);
    FillPattern(blocks[slot], sizes[slot], slot * 31 + id);
  }
  for (int s = 0; s < kSlots; ++s) {
    if (blocks[s] == nullptr) continue;
    if (CheckPattern(blocks[s], sizes[s], s * 31 + id) != sizes[s]) ++bad;
    if (from_new[s]) {
      ::operator delete(blocks[s]);
    } else {
      free(blocks[s]);
    }
  }
  return bad;
}

TEST(Signals, TargetedSignalsDuringAllocationStorm) {
  Install(SIGUSR1, SafeHandler);
  std::atomic<bool> stop{false};
  constexpr int kWorkers = 3;
  std::atomic<long> bad{0};
  std::vector<std::thread> workers;
  std::vector<pthread_t> handles;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] { bad.fetch_add(Storm(w, stop)); });
    handles.push_back(workers.back().native_handle());
  }
  // At least 2 s and 2000 handled signals (a loaded machine gives us less CPU; then it takes
  // longer), at most 30 s.
  long sent = 0;
  const double start = NowSeconds();
  while (NowSeconds() - start < 30 &&
         (NowSeconds() - start < 2 || g_safe_handler_runs.load() < 2000)) {
    for (pthread_t h : handles) {
      ASSERT_EQ(pthread_kill(h, SIGUSR1), 0);
      ++sent;
    }
    // A short pause lets signals land at many different points of the storm.
    struct timespec pause = {0, 20 * 1000};
    nanosleep(&pause, nullptr);
  }
  stop.store(true);
  for (auto& w : workers) w.join();
  printf("\nsent %ld signals, %ld handled\n", sent, g_safe_handler_runs.load());
  EXPECT_EQ(bad.load(), 0);
  // Pending signals of one kind merge, so fewer are handled than sent.
  EXPECT_GE(g_safe_handler_runs.load(), 2000) << "too few signals landed in 30 s";
}

TEST(Signals, ProfilingTimerDuringAllocationStorm) {
  long before = g_safe_handler_runs.load();
  Install(SIGPROF, SafeHandler);
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) workers.emplace_back([&, w] { bad.fetch_add(Storm(10 + w, stop)); });
  // A process-wide CPU-time timer every 100 µs interrupts whichever thread is running, as a
  // sampling profiler does.
  struct itimerval timer = {{0, 100}, {0, 100}};
  ASSERT_EQ(setitimer(ITIMER_PROF, &timer, nullptr), 0);
  // The timer counts CPU time, which a loaded machine hands out sparingly: at least 2 s and 200
  // ticks, at most 30 s.
  const double start = NowSeconds();
  while (NowSeconds() - start < 30 &&
         (NowSeconds() - start < 2 || g_safe_handler_runs.load() - before < 200)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, nullptr);
  stop.store(true);
  for (auto& w : workers) w.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GE(g_safe_handler_runs.load() - before, 200) << "too few timer signals in 30 s";
}

// The handler allocates, but only on the listener thread, which waits in sigsuspend and so is
// never inside malloc when the signal arrives.
std::atomic<long> g_allocating_runs{0};
std::atomic<long> g_allocating_bad{0};

void AllocatingHandler(int) {
  int saved_errno = errno;
  long run = g_allocating_runs.fetch_add(1);
  std::vector<void*> blocks;
  for (int i = 0; i < 64; ++i) {
    size_t size = 1 + (run * 64 + i) % 3000;
    void* p = malloc(size);
    FillPattern(p, size, run * 64 + i);
    blocks.push_back(p);
  }
  std::string text = "handler run " + std::to_string(run);
  auto* object = new std::vector<int>(100, static_cast<int>(run));
  for (int i = 0; i < 64; ++i) {
    size_t size = 1 + (run * 64 + i) % 3000;
    if (CheckPattern(blocks[i], size, run * 64 + i) != size) g_allocating_bad.fetch_add(1);
    free(blocks[i]);
  }
  if ((*object)[99] != static_cast<int>(run) || text.size() < 13) g_allocating_bad.fetch_add(1);
  delete object;
  errno = saved_errno;
}

TEST(Signals, HandlerAllocatesOnThreadOutsideMalloc) {
  // SIGUSR2 is blocked everywhere except inside the listener's sigsuspend.
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr2, nullptr), 0);
  Install(SIGUSR2, AllocatingHandler);

  std::atomic<bool> stop{false};
  std::atomic<bool> listener_done{false};
  std::thread listener([&] {
    sigset_t wait_mask;
    pthread_sigmask(SIG_BLOCK, nullptr, &wait_mask);
    sigdelset(&wait_mask, SIGUSR2);
    while (!stop.load()) sigsuspend(&wait_mask);  // returns after each handler run
    listener_done.store(true);
  });
  std::atomic<long> bad{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 2; ++w) workers.emplace_back([&, w] { bad.fetch_add(Storm(20 + w, stop)); });

  const double start = NowSeconds();
  while (NowSeconds() - start < 30 &&
         (NowSeconds() - start < 2 || g_allocating_runs.load() < 300)) {
    pthread_kill(listener.native_handle(), SIGUSR2);
    struct timespec pause = {0, 200 * 1000};
    nanosleep(&pause, nullptr);
  }
  stop.store(true);
  while (!listener_done.load()) {
    pthread_kill(listener.native_handle(), SIGUSR2);  // wake it so that it sees stop
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  listener.join();
  for (auto& w : workers) w.join();
  pthread_sigmask(SIG_UNBLOCK, &usr2, nullptr);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(g_allocating_bad.load(), 0);
  printf("allocating handler ran %ld times\n", g_allocating_runs.load());
  EXPECT_GE(g_allocating_runs.load(), 300) << "too few handler runs in 30 s";
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

// Many threads (more than CPUs) moving a fixed population of unique items through a PerCpuSlab
// while their CPUs are changed under them, signals interrupt critical sections (and run critical
// sections of their own), and other threads shrink and drain their slots. At the end every item
// must exist exactly once.
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "percpu/fence.h"
#include "percpu/per_cpu_slab.h"
#include "tests/percpu/test_mode.h"

namespace rseqmalloc {
namespace percpu {
namespace {

constexpr size_t kClasses = 3;
constexpr uint16_t kMaxCapacity[kClasses] = {128, 16, 512};
constexpr size_t kPopulation = 30000;

PerCpuSlab g_slab;

void* Item(size_t i) { return reinterpret_cast<void*>((i + 1) * 16); }
size_t IndexOf(void* p) { return reinterpret_cast<uintptr_t>(p) / 16 - 1; }

// Items drained out of slots by the remote operations, shared by everyone.
std::mutex g_pool_mu;
std::vector<void*> g_pool;

void DrainToPool(void*, size_t, void** items, size_t n) {
  std::lock_guard<std::mutex> lock(g_pool_mu);
  g_pool.insert(g_pool.end(), items, items + n);
}

// Signal handlers run critical sections too (pop, then push the same item back). When the push
// back fails the item is parked in this thread's stash, which the thread empties with signals
// blocked.
struct SignalStash {
  void* items[256];
  volatile size_t count = 0;
};
thread_local SignalStash t_stash;
std::atomic<uint64_t> g_signal_ops{0};

void OnSignal(int) {
  size_t cl = g_signal_ops.fetch_add(1, std::memory_order_relaxed) % kClasses;
  void* p = g_slab.Pop(cl);
  if (p == nullptr) return;
  if (!g_slab.Push(cl, p)) {
    if (t_stash.count < 256) {
      t_stash.items[t_stash.count] = p;
      t_stash.count = t_stash.count + 1;
    } else {
      abort();  // cannot happen: the stash is emptied far more often than it can fill
    }
  }
}

void TakeStash(std::vector<void*>* local) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  for (size_t i = 0; i < t_stash.count; ++i) local->push_back(t_stash.items[i]);
  t_stash.count = 0;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

struct Worker {
  std::vector<void*> local;
  std::atomic<pid_t> tid{0};
  std::atomic<int> slot{-1};
  uint64_t ops = 0;
};

void WorkerLoop(Worker* w, std::atomic<bool>* stop, unsigned seed) {
  w->tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
  std::mt19937 rng(seed);
  void* buf[32];
  while (!stop->load(std::memory_order_relaxed)) {
    size_t cl = rng() % kClasses;
    switch (rng() % 10) {
      case 0: case 1: case 2:
        if (!w->local.empty() && g_slab.Push(cl, w->local.back())) w->local.pop_back();
        break;
      case 3: case 4: case 5:
        if (void* p = g_slab.Pop(cl)) w->local.push_back(p);
        break;
      case 6: {
        size_t n = std::min<size_t>(rng() % 32, w->local.size());
        size_t k = g_slab.PushBatch(cl, w->local.data() + (w->local.size() - n), n);
        w->local.resize(w->local.size() - k);  // pushed from the end
        break;
      }
      case 7: {
        size_t k = g_slab.PopBatch(cl, buf, rng() % 32);
        w->local.insert(w->local.end(), buf, buf + k);
        break;
      }
      case 8:
        w->slot.store(g_slab.CurrentSlot(), std::memory_order_relaxed);
        g_slab.Grow(cl, rng() % 8);
        break;
      case 9:
        if (rng() % 16 == 0) {
          std::lock_guard<std::mutex> lock(g_pool_mu);
          size_t n = std::min<size_t>(g_pool.size(), 64);
          w->local.insert(w->local.end(), g_pool.end() - n, g_pool.end());
          g_pool.resize(g_pool.size() - n);
        }
        TakeStash(&w->local);
        break;
    }
    ++w->ops;
  }
  TakeStash(&w->local);
}

struct StressOptions {
  bool affinity_fence = false;
  int seconds = 2;
};

void RunStress(const StressOptions& options) {
  bool usable = testing::InitFromEnvironment();
  ASSERT_TRUE(g_slab.Init(kClasses, kMaxCapacity));
  ForceAffinityFenceForTesting(options.affinity_fence);
  g_pool.clear();

  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, nullptr), 0);

  int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  int threads = std::max(8, 4 * cpus);
  std::vector<Worker> workers(threads);
  for (size_t i = 0; i < kPopulation; ++i) workers[i % threads].local.push_back(Item(i));

  std::atomic<bool> stop{false};
  std::vector<std::thread> running;
  for (int i = 0; i < threads; ++i) running.emplace_back(WorkerLoop, &workers[i], &stop, 100 + i);

  std::atomic<uint64_t> remote_ops{0}, migrations{0}, signals{0};
  // Moves workers between CPUs: single CPUs and the full mask, at random.
  std::thread churn([&] {
    std::mt19937 rng(1);
    while (!stop.load()) {
      Worker& w = workers[rng() % threads];
      pid_t tid = w.tid.load();
      if (tid == 0) continue;
      cpu_set_t set;
      CPU_ZERO(&set);
      if (rng() % 3 == 0) {
        for (int c = 0; c < cpus; ++c) CPU_SET(c, &set);
      } else {
        CPU_SET(rng() % cpus, &set);
      }
      if (sched_setaffinity(tid, sizeof(set), &set) == 0) migrations.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  // Interrupts workers with SIGUSR1 as fast as it can.
  std::thread storm([&] {
    std::mt19937 rng(2);
    pid_t pid = getpid();
    while (!stop.load()) {
      pid_t tid = workers[rng() % threads].tid.load();
      if (tid != 0 && syscall(SYS_tgkill, pid, tid, SIGUSR1) == 0) signals.fetch_add(1);
      if (rng() % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  });
  // Shrinks and drains slots that are in use by the workers.
  std::thread remote([&] {
    std::mt19937 rng(3);
    while (!stop.load()) {
      int slot = static_cast<int>(rng() % std::max<size_t>(g_slab.NumSlots(), 1));
      if (rng() % 2) {
        int s = workers[rng() % threads].slot.load();
        if (s >= 0) slot = s;
      }
      if (!g_slab.SlotInitialized(slot)) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        continue;
      }
      if (rng() % 4 == 0) {
        g_slab.Drain(slot, DrainToPool, nullptr);
      } else {
        g_slab.Shrink(slot, rng() % kClasses, rng() % 16, DrainToPool, nullptr);
      }
      remote_ops.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::microseconds(options.affinity_fence ? 2000 : 200));
    }
  });

  std::this_thread::sleep_for(std::chrono::seconds(options.seconds));
  stop.store(true);
  churn.join();
  storm.join();
  remote.join();
  for (auto& t : running) t.join();

  // Collect: what the workers hold, the pool, and whatever is still in any slot.
  for (size_t s = 0; s < g_slab.NumSlots(); ++s) g_slab.Drain(static_cast<int>(s), DrainToPool, nullptr);
  std::vector<int> seen(kPopulation, 0);
  uint64_t ops = 0;
  auto count = [&](void* p) {
    size_t i = IndexOf(p);
    ASSERT_LT(i, kPopulation) << "foreign pointer " << p;
    ++seen[i];
  };
  for (auto& w : workers) {
    ops += w.ops;
    for (void* p : w.local) count(p);
  }
  for (void* p : g_pool) count(p);
  size_t lost = 0, duplicated = 0;
  for (int n : seen) {
    lost += n == 0;
    duplicated += n > 1;
  }
  EXPECT_EQ(lost, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_GT(ops, 0u);
  EXPECT_GT(migrations.load(), 0u);
  EXPECT_GT(signals.load(), 0u);
  if (usable) {
    EXPECT_GT(remote_ops.load(), 0u);
  }
  printf("threads=%d ops=%llu migrations=%llu signals=%llu signal_ops=%llu remote_ops=%llu\n",
         threads, static_cast<unsigned long long>(ops),
         static_cast<unsigned long long>(migrations.load()),
         static_cast<unsigned long long>(signals.load()),
         static_cast<unsigned long long>(g_signal_ops.load()),
         static_cast<unsigned long long>(remote_ops.load()));
  ForceAffinityFenceForTesting(false);
}

TEST(PerCpuSlabStressTest, ConservesItemsWithMembarrierFence) { RunStress({false, 3}); }

TEST(PerCpuSlabStressTest, ConservesItemsWithAffinityFence) { RunStress({true, 2}); }

// A targeted version of the remote case: one owner hammers its slot, another thread keeps
// draining exactly that slot. With pin_drainer the draining thread is confined to a CPU other
// than the owner's, so a fence that only visits the caller's own CPUs would miss the owner.
void DrainOfARunningOwnersSlot(bool affinity_fence, bool pin_drainer) {
  bool usable = testing::InitFromEnvironment();
  ASSERT_TRUE(g_slab.Init(kClasses, kMaxCapacity));
  if (!usable) GTEST_SKIP();
  cpu_set_t original;
  ASSERT_EQ(sched_getaffinity(0, sizeof(original), &original), 0);
  int owner_cpu = -1, drainer_cpu = -1;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, &original)) continue;
    if (owner_cpu < 0) {
      owner_cpu = c;
    } else if (drainer_cpu < 0) {
      drainer_cpu = c;
    }
  }
  if (pin_drainer && drainer_cpu < 0) GTEST_SKIP() << "needs two CPUs";
  ForceAffinityFenceForTesting(affinity_fence);
  g_pool.clear();
  for (size_t s = 0; s < g_slab.NumSlots(); ++s) g_slab.Drain(static_cast<int>(s), DrainToPool, nullptr);
  g_pool.clear();
  constexpr size_t kItems = 1000;
  std::atomic<bool> stop{false};
  std::atomic<int> owner_slot{-1};
  std::vector<void*> owner_local;
  for (size_t i = 0; i < kItems; ++i) owner_local.push_back(Item(i));
  std::thread owner([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(owner_cpu, &one);
    sched_setaffinity(0, sizeof(one), &one);
    std::mt19937 rng(5);
    while (!stop.load(std::memory_order_relaxed)) {
      owner_slot.store(g_slab.CurrentSlot());
      g_slab.Grow(0, 64);
      for (int i = 0; i < 64 && !owner_local.empty(); ++i) {
        if (!g_slab.Push(0, owner_local.back())) break;
        owner_local.pop_back();
      }
      for (int i = 0; i < 32; ++i) {
        void* p = g_slab.Pop(0);
        if (p == nullptr) break;
        owner_local.push_back(p);
      }
    }
  });
  if (pin_drainer) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(drainer_cpu, &one);
    ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  }
  uint64_t drains = 0;
  // At least a second and at least 5 drains (affinity fences are slow on a loaded machine),
  // but never more than 20 seconds.
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto elapsed = std::chrono::steady_clock::now() - start;
    if (elapsed > std::chrono::seconds(20)) break;
    if (elapsed > std::chrono::seconds(1) && drains >= 5) break;
    int slot = owner_slot.load();
    if (slot < 0) continue;
    g_slab.Drain(slot, DrainToPool, nullptr);
    ++drains;
  }
  stop.store(true);
  owner.join();
  sched_setaffinity(0, sizeof(original), &original);
  ForceAffinityFenceForTesting(false);
  for (size_t s = 0; s < g_slab.NumSlots(); ++s) g_slab.Drain(static_cast<int>(s), DrainToPool, nullptr);
  std::vector<int> seen(kItems, 0);
  for (void* p : owner_local) ++seen[IndexOf(p)];
  for (void* p : g_pool) ++seen[IndexOf(p)];
  for (size_t i = 0; i < kItems; ++i) ASSERT_EQ(seen[i], 1) << "item " << i;
  EXPECT_GE(drains, 5u);
  EXPECT_GT(g_pool.size(), 0u) << "the drains never caught an item in the slot";
}

TEST(PerCpuSlabStressTest, DrainOfARunningOwnersSlot) { DrainOfARunningOwnersSlot(false, false); }

TEST(PerCpuSlabStressTest, DrainOfARunningOwnersSlotFromAnotherPinnedCpu) {
  DrainOfARunningOwnersSlot(false, true);
}

TEST(PerCpuSlabStressTest, DrainOfARunningOwnersSlotAffinityFenceFromAnotherPinnedCpu) {
  DrainOfARunningOwnersSlot(true, true);
}

}  // namespace
}  // namespace percpu
}  // namespace rseqmalloc

// A soak: a mix of everything the other tests do one at a time (sizes from tiny to large,
// cross-thread handoff, realloc growth, aligned blocks, short-lived threads) for a long time.
// RSEQMALLOC_SOAK_SECONDS sets the length (20 s by default, which is what CI runs; use minutes
// by hand). It checks that resident memory stops growing once the working set is reached, that
// every object is accounted for (the program's own ledger and the allocator's in-use bytes agree
// at the end), and that no object's contents ever changed.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

struct Object {
  void* ptr;
  size_t size;
  uint64_t seed;
  bool from_new;  // released with operator delete, else with free
};

constexpr int kWorkers = 4;
constexpr size_t kWorkingSetPerWorker = 2000;  // objects each worker keeps alive

struct Mailbox {
  std::mutex lock;
  std::vector<Object> items;
};

class Soak {
 public:
  explicit Soak(double seconds) : seconds_(seconds) {}

  void Run() {
    const double start = NowSeconds();
    std::vector<std::thread> threads;
    for (int w = 0; w < kWorkers; ++w) threads.emplace_back([this, w] { Work(w); });
    // Sample resident memory once per second; the first quarter is the ramp-up.
    while (NowSeconds() - start < seconds_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      long rss = CurrentRssKib();
      double t = NowSeconds() - start;
      if (t < seconds_ / 4) {
        ramp_peak_kib_ = std::max(ramp_peak_kib_, rss);
      } else {
        steady_peak_kib_ = std::max(steady_peak_kib_, rss);
      }
    }
    stop_.store(true);
    for (auto& t : threads) t.join();
    for (auto& box : boxes_) {
      for (const Object& o : box.items) Release(o);
      box.items.clear();
    }
  }

  double seconds_;
  long ramp_peak_kib_ = 0;
  long steady_peak_kib_ = 0;
  std::atomic<long> allocated_{0}, freed_{0}, corrupted_{0}, helper_threads_{0};

 private:
  static size_t PickSize(uint64_t r) {
    // Roughly Pareto: mostly small, a tail up to 512 KiB.
    switch (r % 64) {
      case 0: return 65536 + (r >> 8) % (448 * 1024);
      case 1: case 2: case 3: return 4096 + (r >> 8) % 61440;
      default: return 1 + (r >> 8) % ((r & 64) ? 256 : 2048);
    }
  }

  Object Make(uint64_t r) {
    size_t size = PickSize(r);
    void* p;
    bool from_new = (r >> 40) % 16 == 1;
    if ((r >> 40) % 16 == 0) {
      p = aligned_alloc(size_t{64} << ((r >> 44) % 7), size);
    } else if (from_new) {
      p = ::operator new(size);
    } else {
      p = malloc(size);
    }
    FillPattern(p, size, r);
    allocated_.fetch_add(1, std::memory_order_relaxed);
    return {p, size, r, from_new};
  }

  void Release(const Object& o) {
    if (CheckPattern(o.ptr, o.size, o.seed) != o.size) corrupted_.fetch_add(1);
    if (o.from_new) {
      ::operator delete(o.ptr, o.size);  // the sized form, with the size it was made with
    } else {
      free(o.ptr);
    }
    freed_.fetch_add(1, std::memory_order_relaxed);
  }

  void Work(int w) {
    uint64_t state = 0xabcdef + w * 7919;
    auto next = [&state] {
      state += 0x9e3779b97f4a7c15ull;
      uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return z ^ (z >> 31);
    };
    std::vector<Object> mine(kWorkingSetPerWorker, Object{nullptr, 0, 0, false});
    long step = 0;
    while (!stop_.load(std::memory_order_relaxed)) {
      uint64_t r = next();
      Object& slot = mine[r % kWorkingSetPerWorker];
      uint64_t action = (r >> 32) % 100;
      if (slot.ptr != nullptr && action < 10) {
        // Hand it to the next worker, which frees it.
        std::lock_guard<std::mutex> hold(boxes_[(w + 1) % kWorkers].lock);
        boxes_[(w + 1) % kWorkers].items.push_back(slot);
        slot.ptr = nullptr;
      } else if (slot.ptr != nullptr && action < 15 && slot.size < 200000 && !slot.from_new) {
        // Grow in place or move: the contents must follow.
        size_t bigger = slot.size + 1 + r % 5000;
        void* p = realloc(slot.ptr, bigger);
        if (CheckPattern(p, slot.size, slot.seed) != slot.size) corrupted_.fetch_add(1);
        slot.ptr = p;
        FillPattern(p, bigger, slot.seed);
        slot.size = bigger;
      } else {
        if (slot.ptr != nullptr) Release(slot);
        slot = Make(r);
      }
      if (++step % 512 == 0) {
        std::vector<Object> taken;
        {
          std::lock_guard<std::mutex> hold(boxes_[w].lock);
          taken.swap(boxes_[w].items);
        }
        for (const Object& o : taken) Release(o);
      }
      if (step % 20000 == 0) {
        // A short-lived thread with its own burst, as a thread pool that scales does.
        std::thread([this, r] {
          std::vector<Object> burst;
          for (int i = 0; i < 300; ++i) burst.push_back(Make(r + i));
          for (const Object& o : burst) Release(o);
        }).join();
        helper_threads_.fetch_add(1);
      }
    }
    for (const Object& o : mine) {
      if (o.ptr != nullptr) Release(o);
    }
  }

  std::atomic<bool> stop_{false};
  Mailbox boxes_[kWorkers];
};

TEST(Soak, StressMixKeepsMemoryBoundedAndLosesNothing) {
  const double seconds = static_cast<double>(EnvLong("RSEQMALLOC_SOAK_SECONDS", 20));
  struct mallinfo2 before = mallinfo2();
  Soak soak(seconds);
  soak.Run();
  struct mallinfo2 after = mallinfo2();
  printf("soak %.0f s: %ld objects, %ld helper threads, RSS peak %ld KiB in ramp-up, %ld KiB "
         "after; in-use bytes %zu before, %zu after\n",
         seconds, soak.allocated_.load(), soak.helper_threads_.load(), soak.ramp_peak_kib_,
         soak.steady_peak_kib_, before.uordblks, after.uordblks);
  EXPECT_GT(soak.allocated_.load(), 10000) << "the soak hardly ran";
  EXPECT_EQ(soak.corrupted_.load(), 0) << "objects whose contents changed";
  EXPECT_EQ(soak.allocated_.load(), soak.freed_.load()) << "objects lost by the program's ledger";
  // Everything was freed, so what the allocator counts as in use is back where it started (a
  // little slack for the test's own vectors and gtest's bookkeeping).
  EXPECT_LT(after.uordblks, before.uordblks + (4u << 20))
      << "the allocator still counts freed objects as in use";
  // The working set is bounded (4 × 2000 objects, ~30 KiB on average, so well under 300 MiB):
  // once it is reached, resident memory must not keep climbing.
  EXPECT_LT(soak.steady_peak_kib_, 1024 * 1024) << "resident memory above 1 GiB";
  EXPECT_LT(soak.steady_peak_kib_, soak.ramp_peak_kib_ * 3 / 2 + 64 * 1024)
      << "resident memory kept growing after the ramp-up";
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

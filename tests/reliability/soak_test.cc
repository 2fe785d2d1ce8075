// A soak: a mix of everything the other tests do one at a time (sizes from tiny to large,
// cross-thread handoff, realloc growth, aligned blocks, short-lived threads) for a long time.
// RSEQMALLOC_SOAK_SECONDS sets the length (20 s by default, which is what CI runs; use minutes
// by hand). It runs in two equal phases and checks that the second one leaves no more resident
// memory and no more in-use bytes behind than the first, that every object is accounted for
// (the program's own ledger), and that no object's contents ever changed.
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
  // One phase: workers run for `seconds`, then everything they hold or sent is freed. Returns
  // the peak resident memory seen during the phase, in KiB.
  long RunPhase(double seconds) {
    stop_.store(false);
    const double start = NowSeconds();
    std::vector<std::thread> threads;
    for (int w = 0; w < kWorkers; ++w) threads.emplace_back([this, w] { Work(w); });
    long peak_kib = 0;
    while (NowSeconds() - start < seconds) {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      peak_kib = std::max(peak_kib, CurrentRssKib());
    }
    stop_.store(true);
    for (auto& t : threads) t.join();
    for (auto& box : boxes_) {
      for (const Object& o : box.items) Release(o);
      box.items.clear();
    }
    ++phase_;
    return peak_kib;
  }

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
    uint64_t state = 0xabcdef + w * 7919 + phase_ * 104729;
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
  int phase_ = 0;  // varies the random streams from phase to phase
  Mailbox boxes_[kWorkers];
};

// In-use bytes as the allocator reports them, after handing free memory back (malloc_trim), so
// that what caches hold does not count for more than it must.
size_t InUseBytes() {
  malloc_trim(0);
  return mallinfo2().uordblks;
}

TEST(Soak, StressMixKeepsMemoryBoundedAndLosesNothing) {
  const double seconds = static_cast<double>(EnvLong("RSEQMALLOC_SOAK_SECONDS", 20));
  // Two phases of equal work, each ending with everything freed. Caches hold about the same at
  // the end of either; objects the allocator loses pile up, and so do pages that fragmentation
  // keeps resident. So the second phase is compared with the first.
  const size_t in_use_start = InUseBytes();
  Soak soak;
  const long first_peak_kib = soak.RunPhase(seconds / 2);
  const size_t in_use_first = InUseBytes();
  const long second_peak_kib = soak.RunPhase(seconds / 2);
  const size_t in_use_second = InUseBytes();
  printf("soak %.0f s: %ld objects, %ld helper threads; RSS peak %ld KiB in phase 1, %ld KiB in "
         "phase 2; in-use bytes %zu at start, %zu after phase 1, %zu after phase 2\n",
         seconds, soak.allocated_.load(), soak.helper_threads_.load(), first_peak_kib,
         second_peak_kib, in_use_start, in_use_first, in_use_second);
  EXPECT_GT(soak.allocated_.load(), 10000) << "the soak hardly ran";
  EXPECT_EQ(soak.corrupted_.load(), 0) << "objects whose contents changed";
  EXPECT_EQ(soak.allocated_.load(), soak.freed_.load()) << "objects lost by the program's ledger";
  // After everything is freed, the allocator's in-use count is what caches keep (bounded) plus
  // any object it lost; the second phase must not add to it.
  EXPECT_LT(in_use_first, in_use_start + (64u << 20)) << "in-use bytes far above the start";
  EXPECT_LT(in_use_second, in_use_first + (4u << 20))
      << "in-use bytes grew from phase 1 to phase 2: freed objects counted as live (lost)";
  // The working set is bounded (4 × 2000 objects of about 7 KiB on average, ~60 MiB).
  EXPECT_LT(second_peak_kib, 1024 * 1024) << "resident memory above 1 GiB";
  EXPECT_LT(second_peak_kib, first_peak_kib * 5 / 4 + 32 * 1024)
      << "resident memory grew from phase 1 to phase 2 under the same load";
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

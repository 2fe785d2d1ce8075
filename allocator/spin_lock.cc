#include "allocator/spin_lock.h"

#include <sched.h>

namespace rseqmalloc {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#else
  asm volatile("" ::: "memory");
#endif
}

// About a microsecond of spinning: longer than the sections this lock guards, so a waiter
// behind a running holder never sleeps, and short enough that a waiter behind a preempted
// holder gives its CPU back quickly.
constexpr int kSpinsBeforeYield = 128;

}  // namespace

void SpinLock::LockSlow() {
  for (;;) {
    for (int i = 0; i < kSpinsBeforeYield; ++i) {
      // Read-only spin: the line stays shared until the holder releases it.
      if (!locked_.load(std::memory_order_relaxed) &&
          !locked_.exchange(true, std::memory_order_acquire)) {
        return;
      }
      CpuRelax();
    }
    sched_yield();
  }
}

}  // namespace rseqmalloc

// A small test-and-test-and-set lock for the allocator's short critical sections.
//
// Why not a pthread mutex: the allocator runs before and during pthread's own initialisation,
// must be constant-initialised, and its sections are a few hundred nanoseconds long, where a
// futex round trip would dominate. Why not a pure spin: on an oversubscribed machine (2 cores,
// many threads) the holder may be preempted, so after a bounded spin the waiter yields the CPU.
#ifndef RSEQMALLOC_ALLOCATOR_SPIN_LOCK_H_
#define RSEQMALLOC_ALLOCATOR_SPIN_LOCK_H_

#include <atomic>

namespace rseqmalloc {

class SpinLock {
 public:
  constexpr SpinLock() : locked_(false) {}
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() {
    // Uncontended case: one exchange, no function call.
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    LockSlow();
  }
  void Unlock() { locked_.store(false, std::memory_order_release); }
  bool TryLock() {
    // Test first so that a failed TryLock does not take the cache line exclusive.
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  // For assertions and tests only: the answer may be stale by the time it is used.
  bool IsHeld() const { return locked_.load(std::memory_order_relaxed); }

 private:
  void LockSlow();

  std::atomic<bool> locked_;
};

class SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock* lock) : lock_(lock) { lock_->Lock(); }
  ~SpinLockHolder() { lock_->Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock* const lock_;
};

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_SPIN_LOCK_H_

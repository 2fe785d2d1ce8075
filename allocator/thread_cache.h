#ifndef RSEQMALLOC_ALLOCATOR_THREAD_CACHE_H_
#define RSEQMALLOC_ALLOCATOR_THREAD_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "allocator/size_classes.h"
#include "allocator/spin_lock.h"

namespace rseqmalloc {

// The fallback front end, for processes or threads that cannot use rseq (no kernel support,
// seccomp, valgrind, qemu-user, RSEQMALLOC_RSEQ=off): a per-thread free list per size class,
// refilled from and drained to the transfer caches in batches. Correct and lock-free on its
// fast path, but memory is cached per thread rather than per CPU.
class ThreadCache {
 public:
  // The calling thread's cache, created on first use; nullptr while the thread is exiting
  // (its cache has been flushed), in which case callers go to the transfer cache directly.
  static ThreadCache* Current();
  // Called once at start-up: registers the thread-exit hook. False if it cannot.
  static bool InitProcess();

  void* Allocate(uint32_t size_class);
  void Deallocate(uint32_t size_class, void* object);
  // Returns every cached object to the transfer caches.
  void Flush();
  size_t cached_bytes() const { return cached_bytes_; }
  // A class's list: objects held, and how many it may hold before it gives some back (tests).
  uint32_t ClassLength(uint32_t size_class) const { return lists_[size_class].length; }
  uint32_t ClassLimit(uint32_t size_class) const { return lists_[size_class].max_length; }

 private:
  struct FreeList {
    void* head;
    uint32_t length;
    uint32_t max_length;
  };
  static ThreadCache* Create();
  static void OnThreadExit(void* cache);
  void ReleaseBatch(uint32_t size_class, uint32_t count);

  FreeList lists_[kNumClasses];
  size_t cached_bytes_;
  int shard_;
};

// The lock of the pool thread caches come from, for the fork handlers.
SpinLock& ThreadCachePoolLock();

// Moves single objects straight to and from the transfer caches: for threads with no cache.
void* AllocateUncached(uint32_t size_class);
void DeallocateUncached(uint32_t size_class, void* object);

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_THREAD_CACHE_H_

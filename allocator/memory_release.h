#ifndef RSEQMALLOC_ALLOCATOR_MEMORY_RELEASE_H_
#define RSEQMALLOC_ALLOCATOR_MEMORY_RELEASE_H_

#include <cstddef>
#include <cstdint>

#include "allocator/spin_lock.h"

namespace rseqmalloc {

// Returning memory to the operating system, on demand and by decay over time.
//
// On demand (malloc_trim, rseqmalloc_release_memory): every per-CPU slot and transfer cache is
// emptied into the central free lists, whose empty spans go back to the page heap, and the page
// heap's free runs are released with madvise, whole 2 MiB hugepages first.
//
// By decay (ReleaseTick, once per period): a slot that took no slow-path miss and kept the same
// contents for a whole period is drained; a transfer cache that did not change is flushed; and
// page-heap memory that stayed free for a whole period is released. A busy process keeps its
// caches; an idle one gives its memory back within two periods.
//
// Who calls ReleaseTick: the allocation slow path, at most once per period (it checks the clock
// every 256th call of a thread), in every process. Optionally also a dedicated thread, for
// services that go fully idle (no allocation at all) and should still give memory back; it is
// started only from contexts where no libc lock can be held: under LD_PRELOAD, when the program
// starts its first thread (thread_create_hook.cc); before main() with
// RSEQMALLOC_RELEASE_THREAD=1; or by the program calling rseqmalloc_start_release_thread().
// Never from inside malloc or free: glibc calls free() while holding the lock that
// pthread_create() takes (its thread-stack cache, when a thread exits), so a thread started
// there deadlocks the process. Never the fast path.

struct ReleaseTotals {
  uint64_t ticks;
  uint64_t slots_drained;
  uint64_t transfer_objects_flushed;
  uint64_t released_bytes;  // by ticks and on demand
};

// Drains all caches and releases free page-heap memory, up to `bytes` (0: all). Returns the
// bytes released to the system.
size_t ReleaseMemory(size_t bytes);

// One decay step (see above). Serialised internally.
void ReleaseTick();

// Called on allocation slow paths (cheap: a counter and, now and then, a clock read).
void MaybeReleaseOnSlowPath();

// Starts the release thread if it is not running; true if it runs. Not from inside malloc/free.
bool StartReleaseThread();

// Called by the pthread_create wrapper of librseqmalloc.so when the program starts a thread:
// starts the release thread (once, if the decay is on).
void OnProgramThreadCreate();

// Turns the background release on or off at run time (RSEQMALLOC_BACKGROUND sets the start
// value). Returns the previous setting.
bool SetBackgroundRelease(bool on);

ReleaseTotals GetReleaseTotals();

// For the fork handlers: held across fork() so that no tick is half done in the child, and
// the child (which has no background thread) starts its own when it needs one.
SpinLock& ReleaseLock();
void ReleaseAfterForkInChild();

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_MEMORY_RELEASE_H_

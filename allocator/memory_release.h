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
// Who calls ReleaseTick: in a process with more than one thread, a background thread started
// on the allocator's slow path once glibc reports the process multi-threaded (a thread in a
// single-threaded program would break programs that rely on being single-threaded, e.g. for
// unshare(CLONE_NEWUSER)). In a single-threaded process, the slow path itself, at most once per
// period. Never the fast path.

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

// Guarded sampling: a few sampled objects live in a pool of their own, each at the very end of a
// page that is followed by an inaccessible guard page. Freed object pages are made inaccessible
// too and are reused oldest-first, so that a use after free, a write or read past the end and a
// double free of such an object are caught where they happen. The pool is not in the pagemap:
// free() of a pointer the heap does not own asks the pool first.
#ifndef RSEQMALLOC_ALLOCATOR_PROFILE_GUARDED_POOL_H_
#define RSEQMALLOC_ALLOCATOR_PROFILE_GUARDED_POOL_H_

#include <stddef.h>
#include <stdint.h>

#include "allocator/spin_lock.h"

namespace rseqmalloc::profile {

// Reserves room for max_live objects at once (and as many freed ones kept inaccessible) and
// installs the SIGSEGV handler that reports bugs in guarded objects. False on failure.
bool InitGuardedPool(size_t max_live);

// The largest object a guarded slot holds (one kernel page).
size_t MaxGuardedSize();

// An object of `size` bytes, aligned to `alignment`, that ends where the guard page begins;
// nullptr when every slot is live. pcs/depth: the allocating stack, kept for reports.
void* GuardedAllocate(size_t size, size_t alignment, void* const* pcs, int depth);

// Whether ptr points into the pool (one range check).
bool IsGuarded(const void* ptr);

// Frees a guarded object; a double or invalid free is reported and the process aborted.
void GuardedFree(void* ptr);

// The object's requested size.
size_t GuardedUsableSize(const void* ptr);

uint64_t GuardedLive();
uint64_t GuardedAllocations();

// For the fork handlers.
SpinLock& GuardedPoolLock();

}  // namespace rseqmalloc::profile

#endif  // RSEQMALLOC_ALLOCATOR_PROFILE_GUARDED_POOL_H_

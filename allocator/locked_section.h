#ifndef RSEQMALLOC_ALLOCATOR_LOCKED_SECTION_H_
#define RSEQMALLOC_ALLOCATOR_LOCKED_SECTION_H_

#include "allocator/spin_lock.h"
#include "percpu/slice_extension.h"

namespace rseqmalloc {

// Holds a SpinLock inside a time-slice-extension request, so that the kernel (Linux 7.0+, when
// the thread has the extension enabled) lets the holder finish instead of preempting it while
// other CPUs spin on the lock. The member order is the protocol: the request is made before the
// lock is taken, made again once it is held (a contended Lock() that yielded lost it), and
// withdrawn after the lock is released (members are destroyed in reverse order, after the
// destructor body unlocks). No syscall may happen inside: it would revoke the grant.
class LockedSection {
 public:
  explicit LockedSection(SpinLock* lock) : lock_(lock) {
    lock_->Lock();
    guard_.LockAcquired();
  }
  ~LockedSection() { lock_->Unlock(); }
  LockedSection(const LockedSection&) = delete;
  LockedSection& operator=(const LockedSection&) = delete;

 private:
  percpu::SliceExtensionGuard guard_;
  SpinLock* lock_;
};

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_LOCKED_SECTION_H_

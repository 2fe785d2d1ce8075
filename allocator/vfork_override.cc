// vfork() for programs that run allocator code in a vfork child (against POSIX's advice, but
// done: shells, language runtimes, signal handlers). The child borrows the calling thread's
// memory and rseq area without a registration of its own (percpu/rseq_suspension.h), so around
// the system call:
//   before: the allocator is initialised, the thread's registration is dropped (the kernel marks
//           the area unregistered, so every critical section in the child fails to its slow
//           path) and the thread bypasses its caches (so the child's slow paths neither set up a
//           registration nor fill the parent thread's caches: it works on the shared transfer
//           caches, under their locks);
//   after, in the parent: the registration and the thread's cache use are restored.
// A child that execs or exits never runs "after"; its parent does, once it wakes.
//
// posix_spawn(), system() and popen() create their CLONE_VM child inside glibc, which this
// cannot wrap; glibc's child runs no allocator code (it only sets up file descriptors, signals
// and the like, then execs), so nothing is at risk there. A raw clone(CLONE_VM) without
// CLONE_SETTLS shares the thread's storage with a *running* parent and is no more supported than
// under glibc's malloc.
#include <errno.h>
#include <stdint.h>

#include "allocator/heap.h"
#include "arch/vfork_trampoline.h"
#include "percpu/rseq_suspension.h"

namespace rseqmalloc {
namespace {

// What "before" changed, for "after". Per thread; `depth` handles a vfork child that calls
// vfork() itself: only the outermost pair suspends and restores.
struct VforkWindow {
  uint32_t depth;
  bool bypassed_before;
  percpu::RseqSuspension rseq;
};
__thread VforkWindow t_vfork __attribute__((tls_model("initial-exec")));

}  // namespace
}  // namespace rseqmalloc

extern "C" __attribute__((visibility("hidden"))) void rseqmalloc_vfork_enter() {
  using namespace rseqmalloc;
  if (t_vfork.depth++ != 0) return;
  EnsureInitialized();  // else the child's first malloc would decide the rseq policy
  t_vfork.bypassed_before = SetThreadBypassesCaches(true);
  t_vfork.rseq = percpu::SuspendThreadRseq();
}

extern "C" __attribute__((visibility("hidden"))) long rseqmalloc_vfork_leave(long raw) {
  using namespace rseqmalloc;
  if (--t_vfork.depth == 0) {
    percpu::ResumeThreadRseq(t_vfork.rseq);
    SetThreadBypassesCaches(t_vfork.bypassed_before);
  }
  if (static_cast<unsigned long>(raw) > static_cast<unsigned long>(-4096L)) {
    errno = static_cast<int>(-raw);
    return -1;
  }
  return raw;
}

RSEQMALLOC_ARCH_VFORK_TRAMPOLINE(vfork, rseqmalloc_vfork_enter, rseqmalloc_vfork_leave);

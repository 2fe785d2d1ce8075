// Suspending this thread's rseq registration around a vfork().
//
// A vfork() child (clone with CLONE_VM | CLONE_VFORK) runs on its parent thread's memory, thread
// storage and rseq area included, while the parent thread sleeps. The kernel does not register
// rseq for such a child, so the area keeps the parent's last cpu_id and mm_cid: the child's
// critical sections would index a slot with them and run unprotected, racing with the other
// threads of the process on that slot. The area cannot be marked by us (its ID fields are
// kernel-owned), but the kernel marks it itself when the registration is dropped: cpu_id becomes
// -1 (RSEQ_CPU_ID_UNINITIALIZED), and every critical section then fails before it starts.
//
// So the thread that calls vfork() unregisters first; the child finds an unregistered area; the
// parent registers it again once the child has exec'd or exited. Two system calls per vfork,
// nothing on any other path. The allocator's vfork() (allocator/vfork_override.cc) does this.
#ifndef RSEQMALLOC_PERCPU_RSEQ_SUSPENSION_H_
#define RSEQMALLOC_PERCPU_RSEQ_SUSPENSION_H_

#include <stdint.h>

namespace rseqmalloc {
namespace percpu {

// Trivial, so that it can live in __thread storage.
struct RseqSuspension {
  bool unregistered;    // this thread's area was registered, and now is not (a refusal by the
                        // kernel leaves it false: the child then runs as if not wrapped)
  uint8_t slice_state;  // the thread's slice-extension state before (slice_extension.h)
};

// Drops this thread's registration if it has one, and keeps the slice extension's guards off
// until ResumeThreadRseq. Never allocates.
RseqSuspension SuspendThreadRseq();

// Undoes SuspendThreadRseq. false: the area could not be registered again, and this thread
// uses the allocator's non-rseq front end from now on.
bool ResumeThreadRseq(const RseqSuspension& suspension);

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_RSEQ_SUSPENSION_H_

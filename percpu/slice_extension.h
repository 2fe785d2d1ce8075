// Scheduler time-slice extension (Linux 7.0+, optimized rseq registrations only) around short
// lock-holding slow paths: while a guard is alive the kernel may postpone preempting this thread
// by a few microseconds, so other CPUs do not wait on a lock whose holder was scheduled out.
// The guarded code must stay far below the grant (5 us by default) and make no syscall (one would
// revoke the grant).
//
// Targeted layout (Linux 7.3 include/uapi/linux/rseq.h, struct rseq_slice_ctrl at offset 28 of
// struct rseq): byte 28 `request` (written by user space, cleared by either side), byte 29
// `granted` (kernel-owned), bytes 30-31 reserved. See docs/rseq.md.
#ifndef RSEQMALLOC_PERCPU_SLICE_EXTENSION_H_
#define RSEQMALLOC_PERCPU_SLICE_EXTENSION_H_

#include <stdint.h>

namespace rseqmalloc {
namespace percpu {

namespace internal {
// Per-thread state of the extension: unknown until the first guard, then off or on.
enum : uint8_t { kSliceUnknown = 0, kSliceOff = 1, kSliceOn = 2 };
extern __thread uint8_t t_slice_state __attribute__((tls_model("initial-exec")));
// Guards alive on this thread (a signal handler's guard may nest inside an interrupted one).
extern __thread uint8_t t_slice_depth __attribute__((tls_model("initial-exec")));
void SliceExtensionSlowStart();
// Returns true for the outermost guard; a nested one gets the request byte it found in *saved.
bool SliceExtensionEnter(uint8_t* saved);
void SliceExtensionRenew();
void SliceExtensionExit(bool outermost, uint8_t saved);
}  // namespace internal

// RAII: request on construction; on destruction of the outermost guard clear the request and, if
// the kernel granted an extension meanwhile, give the CPU back with rseq_slice_yield(). A nested
// guard (e.g. in a signal handler that interrupted a guarded section) leaves the outer request
// as it found it and never yields. Where the extension is not available this costs one TLS byte
// test (after the first guard of the thread).
class SliceExtensionGuard {
 public:
  SliceExtensionGuard() {
    uint8_t state = internal::t_slice_state;
    if (__builtin_expect(state == internal::kSliceUnknown, 0)) {
      internal::SliceExtensionSlowStart();
      state = internal::t_slice_state;
    }
    if (state == internal::kSliceOn) {
      armed_ = true;
      outermost_ = internal::SliceExtensionEnter(&saved_request_);
    }
  }
  ~SliceExtensionGuard() {
    if (armed_) internal::SliceExtensionExit(outermost_, saved_request_);
  }
  // Call once the lock is held. The kernel clears `request` when it returns to user space after
  // a context switch, so a waiter that yielded on a contended lock lost its request exactly when
  // it is about to need it most; this sets it again (unless an extension is already granted).
  void LockAcquired() {
    if (armed_) internal::SliceExtensionRenew();
  }
  SliceExtensionGuard(const SliceExtensionGuard&) = delete;
  SliceExtensionGuard& operator=(const SliceExtensionGuard&) = delete;

 private:
  bool armed_ = false;
  bool outermost_ = false;
  uint8_t saved_request_ = 0;
};

struct SliceExtensionCounters {
  uint64_t requests;             // outermost guards that set slice_ctrl.request
  uint64_t grants;               // outermost guards that found slice_ctrl.granted set at the end
  uint64_t yields;               // rseq_slice_yield() calls made
  uint64_t yields_returned_one;  // of which the kernel said "yielded inside a grant"
};
// Summed over the per-slot counters (each guard counts into the slot of the CPU it runs on, so
// threads on different CPUs never share a counter cache line).
SliceExtensionCounters GetSliceExtensionCounters();

// Whether guards on this thread would request an extension (forces the per-thread decision).
bool SliceExtensionActiveOnThisThread();

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_SLICE_EXTENSION_H_

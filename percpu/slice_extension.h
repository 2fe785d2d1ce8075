// Scheduler time-slice extension (Linux 7.0+, optimized rseq registrations only) around short
// lock-holding slow paths: while a guard is alive the kernel may postpone preempting this thread
// by a few microseconds, so other CPUs do not wait on a lock whose holder was scheduled out.
// The guarded code must stay far below the grant (5 us by default) and make no syscall (one would
// revoke the grant).
#ifndef RSEQMALLOC_PERCPU_SLICE_EXTENSION_H_
#define RSEQMALLOC_PERCPU_SLICE_EXTENSION_H_

#include <stdint.h>

namespace rseqmalloc {
namespace percpu {

namespace internal {
// Per-thread state of the extension: unknown until the first guard, then off or on.
enum : uint8_t { kSliceUnknown = 0, kSliceOff = 1, kSliceOn = 2 };
extern __thread uint8_t t_slice_state __attribute__((tls_model("initial-exec")));
void SliceExtensionSlowStart(bool* armed);
void SliceExtensionArm();
void SliceExtensionDisarm();
}  // namespace internal

// RAII: request on construction; on destruction clear the request and, if the kernel granted an
// extension meanwhile, give the CPU back with rseq_slice_yield(). Where the extension is not
// available this costs one TLS byte test (after the first guard of the thread).
class SliceExtensionGuard {
 public:
  SliceExtensionGuard() {
    uint8_t state = internal::t_slice_state;
    if (__builtin_expect(state == internal::kSliceOn, 1)) {
      internal::SliceExtensionArm();
      armed_ = true;
    } else if (state == internal::kSliceUnknown) {
      internal::SliceExtensionSlowStart(&armed_);
    }
  }
  ~SliceExtensionGuard() {
    if (armed_) internal::SliceExtensionDisarm();
  }
  SliceExtensionGuard(const SliceExtensionGuard&) = delete;
  SliceExtensionGuard& operator=(const SliceExtensionGuard&) = delete;

 private:
  bool armed_ = false;
};

struct SliceExtensionCounters {
  uint64_t requests;             // guards that set slice_ctrl.request
  uint64_t grants;               // guards that found slice_ctrl.granted set at the end
  uint64_t yields;               // rseq_slice_yield() calls made
  uint64_t yields_returned_one;  // of which the kernel said "yielded inside a grant"
};
// Summed over all threads (process-wide relaxed counters, touched only by armed guards).
SliceExtensionCounters GetSliceExtensionCounters();

// Whether guards on this thread would request an extension (forces the per-thread decision).
bool SliceExtensionActiveOnThisThread();

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_SLICE_EXTENSION_H_

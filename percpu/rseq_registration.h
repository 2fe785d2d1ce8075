// Process-wide rseq policy (who registers, which field keys the slots) and per-thread readiness.
//
// Policy, decided once by RseqProcessInit:
//  1. glibc registered (__rseq_size != 0): use its area at thread pointer + __rseq_offset.
//  2. otherwise register our own initial-exec TLS area, per thread, lazily (RseqThreadReady).
//  3. if that fails too (ENOSYS, seccomp, qemu-user) or the caller asked for kOff: unavailable.
#ifndef RSEQMALLOC_PERCPU_RSEQ_REGISTRATION_H_
#define RSEQMALLOC_PERCPU_RSEQ_REGISTRATION_H_

#include <stddef.h>
#include <stdint.h>

#include "arch/thread_pointer.h"
#include "percpu/rseq_status.h"

namespace rseqmalloc {
namespace percpu {

enum class SlotKeyRequest : uint8_t { kAuto, kMmCid, kCpuId, kOff /* force unavailable */ };

struct RseqOptions {
  SlotKeyRequest key = SlotKeyRequest::kAuto;
  bool slice_extension = true;
};

// Once per process; later calls return the first call's answer whatever their options.
// Thread-safe, never allocates. false => rseq is unusable in this process.
bool RseqProcessInit(const RseqOptions& options);

// Valid after RseqProcessInit (all-zero "unavailable" status before).
const RseqStatus& CurrentRseqStatus();

namespace internal {
// Offset from the thread pointer to the struct rseq we use; same for every thread. 0 until init.
extern ptrdiff_t g_rseq_area_offset;
// Offset inside struct rseq of the field slots are keyed by (4 = cpu_id, 24 = mm_cid).
extern uint32_t g_slot_key_offset;
// true once the process policy allows rseq use at all.
extern bool g_rseq_usable;
// Whether the extension should be enabled for threads (options.slice_extension and available).
extern bool g_slice_extension_wanted;
// A thread enabled the extension with prctl: the status line's slice_ext becomes "enabled".
void NoteSliceExtensionEnabled();

extern __thread bool t_rseq_thread_ready __attribute__((tls_model("initial-exec")));
bool RseqThreadReadySlow();
// true once RseqProcessInit has finished (successfully or not).
bool RseqProcessInitDone();
// For percpu/rseq_suspension: drop this thread's registration of its area (the kernel then marks
// the area unregistered: cpu_id = -1), and make it again. Both return false if the kernel
// refused; a thread whose area cannot be registered again stops using rseq for good.
bool UnregisterThreadArea();
bool RegisterThreadAreaAgain();
}  // namespace internal

// This thread's struct rseq (glibc's or ours). Only meaningful after RseqProcessInit.
inline char* ThreadRseqArea() {
  return arch::ThreadPointer() + internal::g_rseq_area_offset;
}

// true if this thread can run critical sections now; registers our own area on first use when we
// own registration. Cheap (one TLS load) once it has returned true.
inline bool RseqThreadReady() {
  if (__builtin_expect(internal::t_rseq_thread_ready, true)) return true;
  return internal::RseqThreadReadySlow();
}

// Raw reads of this thread's area, for slow paths, stats and tests.
int32_t ThreadRseqCpuId();
uint32_t ThreadRseqFlags();

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_RSEQ_REGISTRATION_H_

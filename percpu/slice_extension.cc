#include "percpu/slice_extension.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "arch/rseq_abi.h"
#include "percpu/rseq_registration.h"

namespace rseqmalloc {
namespace percpu {
namespace {

// Counters live per slot, one cache line each, picked by the CPU the guard runs on: threads on
// different CPUs never write the same line (a process-wide counter would bounce between CPUs on
// every guarded section). The adds stay atomic because two threads may share a CPU one after
// the other, and the kernel-side checks compare these totals exactly.
constexpr uint32_t kCounterSlots = 64;
struct alignas(64) CounterSlot {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> grants{0};
  std::atomic<uint64_t> yields{0};
  std::atomic<uint64_t> yields_returned_one{0};
};
CounterSlot g_counter_slots[kCounterSlots];

CounterSlot& SlotOfThisCpu() {
  return g_counter_slots[static_cast<uint32_t>(ThreadRseqCpuId()) % kCounterSlots];
}
void Count(std::atomic<uint64_t>& counter) { counter.fetch_add(1, std::memory_order_relaxed); }

volatile uint8_t* RequestByte() {
  return reinterpret_cast<volatile uint8_t*>(ThreadRseqArea() + arch::kRseqSliceRequestOffset);
}
const volatile uint8_t* GrantedByte() {
  return reinterpret_cast<const volatile uint8_t*>(ThreadRseqArea() +
                                                   arch::kRseqSliceGrantedOffset);
}
void CompilerBarrier() { asm volatile("" ::: "memory"); }

// Decides once per thread whether this thread can use the extension, enabling it if needed.
uint8_t DecideThreadState() {
  if (!internal::g_slice_extension_wanted || !RseqThreadReady()) return internal::kSliceOff;
  uint32_t flags = ThreadRseqFlags();
  if ((flags & arch::kRseqCsFlagSliceExtAvailable) == 0) return internal::kSliceOff;
  if (flags & arch::kRseqCsFlagSliceExtEnabled) return internal::kSliceOn;
  // Available but not enabled: glibc's registration (or ours without the default-on flag).
  // Enable lazily, only for threads that actually reach a guarded slow path.
  int saved_errno = errno;
  int rc = prctl(arch::kPrRseqSliceExtension, arch::kPrRseqSliceExtensionSet,
                 arch::kPrRseqSliceExtEnable, 0, 0);
  // EINVAL, ENOTSUPP (524), ENXIO, ENOSYS all just mean "not for us".
  errno = saved_errno;
  if (rc != 0) return internal::kSliceOff;
  internal::NoteSliceExtensionEnabled();
  return internal::kSliceOn;
}

}  // namespace

namespace internal {

__thread uint8_t t_slice_state __attribute__((tls_model("initial-exec"))) = kSliceUnknown;
__thread uint8_t t_slice_depth __attribute__((tls_model("initial-exec"))) = 0;

bool SliceExtensionEnter(uint8_t* saved) {
  const uint8_t depth = t_slice_depth;
  // The depth goes up before the request is touched: a signal handler's guard from here on
  // knows it is nested and leaves the request to us.
  t_slice_depth = static_cast<uint8_t>(depth + 1);
  CompilerBarrier();
  if (depth != 0) {
    *saved = *RequestByte();
    *RequestByte() = 1;
    return false;
  }
  *RequestByte() = 1;
  CompilerBarrier();
  Count(SlotOfThisCpu().requests);
  return true;
}

void SliceExtensionRenew() {
  CompilerBarrier();
  // A granted extension is already running; a new request would only be cleared with it.
  if (*GrantedByte() == 0) *RequestByte() = 1;
  CompilerBarrier();
}

void SliceExtensionExit(bool outermost, uint8_t saved) {
  CompilerBarrier();
  if (!outermost) {
    // Whatever the outer guard had (possibly cleared by the kernel meanwhile) is restored; a
    // grant that arrived in between is left for the outer guard to yield.
    *RequestByte() = saved;
    CompilerBarrier();
    t_slice_depth = static_cast<uint8_t>(t_slice_depth - 1);
    return;
  }
  *RequestByte() = 0;
  CompilerBarrier();
  if (*GrantedByte() != 0) {
    CounterSlot& slot = SlotOfThisCpu();
    Count(slot.grants);
    int saved_errno = errno;
    long rc = syscall(arch::kSysRseqSliceYield);
    errno = saved_errno;
    Count(slot.yields);
    if (rc == 1) Count(slot.yields_returned_one);
  }
  CompilerBarrier();
  // Only now: a signal handler's guard before this point is nested and neither counts nor yields.
  t_slice_depth = 0;
}

void SliceExtensionSlowStart() {
  // Before the process decided its rseq policy nothing can be known; do not cache an answer.
  if (!RseqProcessInitDone()) return;
  t_slice_state = DecideThreadState();
}

}  // namespace internal

bool SliceExtensionActiveOnThisThread() {
  if (internal::t_slice_state == internal::kSliceUnknown) internal::SliceExtensionSlowStart();
  return internal::t_slice_state == internal::kSliceOn;
}

SliceExtensionCounters GetSliceExtensionCounters() {
  SliceExtensionCounters sum{0, 0, 0, 0};
  for (const CounterSlot& slot : g_counter_slots) {
    sum.requests += slot.requests.load(std::memory_order_relaxed);
    sum.grants += slot.grants.load(std::memory_order_relaxed);
    sum.yields += slot.yields.load(std::memory_order_relaxed);
    sum.yields_returned_one += slot.yields_returned_one.load(std::memory_order_relaxed);
  }
  return sum;
}

}  // namespace percpu
}  // namespace rseqmalloc

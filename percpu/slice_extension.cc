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

std::atomic<uint64_t> g_requests{0};
std::atomic<uint64_t> g_grants{0};
std::atomic<uint64_t> g_yields{0};
std::atomic<uint64_t> g_yields_returned_one{0};

volatile uint8_t* RequestByte() {
  return reinterpret_cast<volatile uint8_t*>(ThreadRseqArea() + arch::kRseqSliceRequestOffset);
}
const volatile uint8_t* GrantedByte() {
  return reinterpret_cast<const volatile uint8_t*>(ThreadRseqArea() +
                                                   arch::kRseqSliceGrantedOffset);
}

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
  return rc == 0 ? internal::kSliceOn : internal::kSliceOff;
}

}  // namespace

namespace internal {

__thread uint8_t t_slice_state __attribute__((tls_model("initial-exec"))) = kSliceUnknown;

void SliceExtensionArm() {
  *RequestByte() = 1;
  // The request must be visible (to this CPU's kernel entry) before the lock is taken.
  asm volatile("" ::: "memory");
  g_requests.fetch_add(1, std::memory_order_relaxed);
}

void SliceExtensionDisarm() {
  asm volatile("" ::: "memory");
  *RequestByte() = 0;
  asm volatile("" ::: "memory");
  if (*GrantedByte() != 0) {
    g_grants.fetch_add(1, std::memory_order_relaxed);
    int saved_errno = errno;
    long rc = syscall(arch::kSysRseqSliceYield);
    errno = saved_errno;
    g_yields.fetch_add(1, std::memory_order_relaxed);
    if (rc == 1) g_yields_returned_one.fetch_add(1, std::memory_order_relaxed);
  }
}

void SliceExtensionSlowStart(bool* armed) {
  // Before the process decided its rseq policy nothing can be known; do not cache an answer.
  if (!RseqProcessInitDone()) return;
  t_slice_state = DecideThreadState();
  if (t_slice_state == kSliceOn) {
    SliceExtensionArm();
    *armed = true;
  }
}

}  // namespace internal

bool SliceExtensionActiveOnThisThread() {
  if (internal::t_slice_state == internal::kSliceUnknown && internal::RseqProcessInitDone()) {
    internal::t_slice_state = DecideThreadState();
  }
  return internal::t_slice_state == internal::kSliceOn;
}

SliceExtensionCounters GetSliceExtensionCounters() {
  return SliceExtensionCounters{g_requests.load(std::memory_order_relaxed),
                                g_grants.load(std::memory_order_relaxed),
                                g_yields.load(std::memory_order_relaxed),
                                g_yields_returned_one.load(std::memory_order_relaxed)};
}

}  // namespace percpu
}  // namespace rseqmalloc

#include "percpu/rseq_registration.h"

#include <errno.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "arch/rseq_abi.h"
#include "percpu/fence.h"
#include "percpu/possible_cpus.h"

// glibc >= 2.35 exports these from ld.so; weak so that other libcs (and static links without
// them) still link, in which case the addresses are null.
extern "C" {
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));
}

namespace rseqmalloc {
namespace percpu {
namespace {

// Our own struct rseq, used only when glibc did not register. The static initialiser is exactly
// what a never-registered area looks like (cpu_id = RSEQ_CPU_ID_UNINITIALIZED, all else 0):
// optimized-mode kernels compare the ID fields with these values on the first return to user
// space after registration.
// 64 bytes / 64-aligned: 7.x kernels want 33 bytes aligned on 64 (AT_RSEQ_FEATURE_SIZE and
// AT_RSEQ_ALIGN; 6.x: 28 and 32), and the object lives in initial-exec TLS, which a library loaded
// by dlopen() must fit into glibc's small static-TLS surplus (a 256-aligned area did not: "cannot
// allocate memory in static TLS block"). A kernel that someday wants more gets the original
// 32-byte registration instead, which every kernel accepts (legacy mode; see InitOwnRegistration).
struct alignas(64) OwnRseqArea {
  uint32_t cpu_id_start;
  int32_t cpu_id;
  uint64_t rseq_cs;
  uint32_t flags;
  uint32_t node_id;
  uint32_t mm_cid;
  uint32_t slice_ctrl;
  uint8_t future[32];
};
static_assert(sizeof(OwnRseqArea) == 64, "area size");

__thread OwnRseqArea t_own_rseq_area __attribute__((tls_model("initial-exec"))) = {
    0, arch::kRseqCpuIdUninitialized, 0, 0, 0, 0, 0, {}};

// Per-thread outcome of the slow path: 0 not tried, 1 failed (do not retry every call).
__thread uint8_t t_rseq_thread_failed __attribute__((tls_model("initial-exec"))) = 0;

RseqStatus g_status{};
std::atomic<int> g_init_state{0};  // 0 = not started, 1 = running, 2 = done
uint32_t g_own_length = 0;
int g_own_flags = 0;

long RawRseq(void* area, uint32_t len, int flags) {
  return syscall(arch::kSysRseq, area, len, flags, arch::kRseqSignature);
}

// Registers this thread's area; true on success or if it already is (EBUSY: same area, e.g.
// after fork or when a signal handler got here first).
bool RegisterArea(void* area, uint32_t len, int flags) {
  int saved_errno = errno;
  bool ok = false;
  if (RawRseq(area, len, flags) == 0) {
    ok = true;
  } else if (errno == EBUSY) {
    ok = true;
  } else if (errno == EINVAL && (flags & arch::kRseqFlagSliceExtDefaultOn)) {
    // A kernel (or this thread's situation) that refuses the flag: register without it.
    ok = RawRseq(area, len, 0) == 0 || errno == EBUSY;
  }
  errno = saved_errno;
  return ok;
}

bool RegisterOwnArea() { return RegisterArea(&t_own_rseq_area, g_own_length, g_own_flags); }

uint32_t AuxvOrDefault(unsigned long type, uint32_t fallback) {
  unsigned long v = getauxval(type);
  return v == 0 ? fallback : static_cast<uint32_t>(v);
}

int32_t VolatileLoadS32(const char* p) { return *reinterpret_cast<const volatile int32_t*>(p); }
uint32_t VolatileLoadU32(const char* p) {
  return *reinterpret_cast<const volatile uint32_t*>(p);
}

void DecideKey(const RseqOptions& options, uint32_t feature_size) {
  bool has_mm_cid = feature_size >= arch::kRseqFeatureSizeWithMmCid;
  bool use_mm_cid = options.key == SlotKeyRequest::kMmCid ||
                    options.key == SlotKeyRequest::kAuto;
  g_status.key = (use_mm_cid && has_mm_cid) ? SlotKey::kMmCid : SlotKey::kCpuId;
  internal::g_slot_key_offset = g_status.key == SlotKey::kMmCid
                                    ? static_cast<uint32_t>(arch::kRseqMmCidOffset)
                                    : static_cast<uint32_t>(arch::kRseqCpuIdOffset);
}

// The kernel sets SLICE_EXT_AVAILABLE only in optimized registrations, so seeing it is the one
// observation of the mode user space can make; everything else is inferred from the length.
void ObserveMode() {
  g_status.mode_source = RseqModeSource::kInferred;
  uint32_t flags = VolatileLoadU32(ThreadRseqArea() + arch::kRseqFlagsOffset);
  if (flags & arch::kRseqCsFlagSliceExtAvailable) {
    g_status.mode = RseqMode::kOptimized;
    g_status.mode_source = RseqModeSource::kKernel;
  }
}

void DecideSliceExtension(const RseqOptions& options) {
  g_status.slice_ext = SliceExtState::kUnsupported;
  if (g_status.feature_size < arch::kRseqFeatureSizeWithSliceCtrl ||
      g_status.mode != RseqMode::kOptimized) {
    return;
  }
  uint32_t flags = VolatileLoadU32(ThreadRseqArea() + arch::kRseqFlagsOffset);
  if ((flags & arch::kRseqCsFlagSliceExtAvailable) == 0) return;
  g_status.slice_ext = (flags & arch::kRseqCsFlagSliceExtEnabled) ? SliceExtState::kEnabled
                                                                  : SliceExtState::kAvailable;
  internal::g_slice_extension_wanted = options.slice_extension;
}

bool InitGlibcOwned(const RseqOptions& options) {
  unsigned int size = __rseq_size;
  uint32_t at_feature = AuxvOrDefault(arch::kAtRseqFeatureSize, arch::kRseqOriginalFeatureSize);
  uint32_t feature = size;
  // glibc 2.35-2.40 report 32 or (after the bug 31965 fix) 20 for a 32-byte registration whose
  // real content is whatever the kernel fills: take the kernel's figure, capped at 32.
  if (size == 20 || size == 32) {
    feature = at_feature < arch::kRseqOriginalSize ? at_feature : arch::kRseqOriginalSize;
  }
  internal::g_rseq_area_offset = __rseq_offset;
  if (ThreadRseqCpuId() < 0) return false;  // glibc says registered, kernel never filled it
  g_status.owner = RseqOwner::kGlibc;
  g_status.feature_size = feature;
  // glibc registers max(feature size, 32) bytes (exactly 32 before 2.41).
  g_status.registered_length = size > arch::kRseqOriginalSize ? size : arch::kRseqOriginalSize;
  g_status.mode = g_status.registered_length > arch::kRseqOriginalSize ? RseqMode::kOptimized
                                                                       : RseqMode::kLegacy;
  DecideKey(options, feature);
  return true;
}

bool InitOwnRegistration(const RseqOptions& options) {
  uint32_t feature = AuxvOrDefault(arch::kAtRseqFeatureSize, arch::kRseqOriginalFeatureSize);
  uint32_t align = AuxvOrDefault(arch::kAtRseqAlign, 32);
  const bool fits = align <= alignof(OwnRseqArea) && feature <= sizeof(OwnRseqArea);
  g_own_length = fits && feature > arch::kRseqOriginalSize ? feature : arch::kRseqOriginalSize;
  // Ask for the extension in the registration itself (no extra syscall per thread). A 32-byte
  // registration is legacy and can never have it, so do not waste a failing syscall there.
  g_own_flags = (options.slice_extension && g_own_length > arch::kRseqOriginalSize)
                    ? arch::kRseqFlagSliceExtDefaultOn
                    : 0;
  int saved_errno = errno;
  long rc = RawRseq(&t_own_rseq_area, g_own_length, g_own_flags);
  if (rc != 0 && errno == EINVAL && g_own_flags != 0) {
    g_own_flags = 0;  // kernel predates the flag: never pass it again
    rc = RawRseq(&t_own_rseq_area, g_own_length, 0);
  }
  bool ok = rc == 0 || errno == EBUSY;
  errno = saved_errno;
  if (!ok) return false;
  internal::g_rseq_area_offset =
      reinterpret_cast<char*>(&t_own_rseq_area) - arch::ThreadPointer();
  g_status.owner = RseqOwner::kOwn;
  g_status.feature_size = feature;
  g_status.registered_length = g_own_length;
  g_status.mode = g_own_length > arch::kRseqOriginalSize ? RseqMode::kOptimized
                                                         : RseqMode::kLegacy;
  DecideKey(options, feature);
  internal::t_rseq_thread_ready = true;
  return true;
}

void InitOnce(const RseqOptions& options) {
  g_status.slots = NumPossibleCpus();
  // Until a policy succeeds, point at our own (never registered, cpu_id = -1) area so that any
  // raw read of "this thread's rseq area" sees an unregistered thread.
  internal::g_rseq_area_offset =
      reinterpret_cast<char*>(&t_own_rseq_area) - arch::ThreadPointer();
  bool usable = false;
  if (options.key != SlotKeyRequest::kOff) {
    bool glibc_registered = &__rseq_size != nullptr && &__rseq_offset != nullptr &&
                            __rseq_size != 0;
    usable = glibc_registered ? InitGlibcOwned(options) : InitOwnRegistration(options);
  }
  if (!usable) {
    g_status.owner = RseqOwner::kNone;
    g_status.registered_length = 0;
    g_status.feature_size = 0;
    g_status.mode = RseqMode::kUnavailable;
    g_status.mode_source = RseqModeSource::kNone;
    g_status.key = SlotKey::kCpuId;
    internal::g_slot_key_offset = static_cast<uint32_t>(arch::kRseqCpuIdOffset);
    internal::g_rseq_area_offset =
        reinterpret_cast<char*>(&t_own_rseq_area) - arch::ThreadPointer();
    return;
  }
  ObserveMode();
  DecideSliceExtension(options);
  internal::FenceProcessInit(g_status.key == SlotKey::kCpuId, g_status.slots);
  internal::g_rseq_usable = true;
  if (g_status.owner == RseqOwner::kGlibc) internal::t_rseq_thread_ready = true;
}

}  // namespace

namespace internal {
ptrdiff_t g_rseq_area_offset = 0;
uint32_t g_slot_key_offset = static_cast<uint32_t>(arch::kRseqCpuIdOffset);
bool g_rseq_usable = false;
bool g_slice_extension_wanted = false;
__thread bool t_rseq_thread_ready __attribute__((tls_model("initial-exec"))) = false;

void NoteSliceExtensionEnabled() {
  // Several threads may get here; they all store the same value, and readers take the status
  // line as a snapshot.
  if (g_status.slice_ext == SliceExtState::kAvailable) {
    __atomic_store_n(reinterpret_cast<uint8_t*>(&g_status.slice_ext),
                     static_cast<uint8_t>(SliceExtState::kEnabled), __ATOMIC_RELAXED);
  }
}

bool RseqProcessInitDone() { return g_init_state.load(std::memory_order_acquire) == 2; }

// The kernel unregisters only with the exact length and signature of the registration. glibc's
// length is the one InitGlibcOwned worked out; its signature is ours (see arch/rseq_abi.h).
bool UnregisterThreadArea() {
  int saved_errno = errno;
  bool ok = RawRseq(ThreadRseqArea(), g_status.registered_length, arch::kRseqFlagUnregister) == 0;
  errno = saved_errno;
  return ok;
}

bool RegisterThreadAreaAgain() {
  // Ours with the flags of its first registration; glibc's without flags (the slice extension,
  // if this thread had it, is enabled again by prctl on its next guard: rseq_suspension resets
  // the thread's slice state).
  const int flags = g_status.owner == RseqOwner::kOwn ? g_own_flags : 0;
  const bool ok = RegisterArea(ThreadRseqArea(), g_status.registered_length, flags);
  if (!ok) {
    t_rseq_thread_ready = false;
    t_rseq_thread_failed = 1;
  }
  return ok;
}

bool RseqThreadReadySlow() {
  if (g_init_state.load(std::memory_order_acquire) != 2 || !g_rseq_usable) return false;
  if (t_rseq_thread_failed) return false;
  bool ok = false;
  if (g_status.owner == RseqOwner::kGlibc) {
    ok = ThreadRseqCpuId() >= 0;
  } else if (g_status.owner == RseqOwner::kOwn) {
    ok = RegisterOwnArea();
  }
  if (ok) {
    t_rseq_thread_ready = true;
  } else {
    t_rseq_thread_failed = 1;
  }
  return ok;
}
}  // namespace internal

bool RseqProcessInit(const RseqOptions& options) {
  int state = g_init_state.load(std::memory_order_acquire);
  if (state == 2) return internal::g_rseq_usable;
  int expected = 0;
  if (g_init_state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
    InitOnce(options);
    g_init_state.store(2, std::memory_order_release);
    return internal::g_rseq_usable;
  }
  // Another thread is initialising; it makes only a few syscalls, so yielding is enough.
  while (g_init_state.load(std::memory_order_acquire) != 2) sched_yield();
  return internal::g_rseq_usable;
}

const RseqStatus& CurrentRseqStatus() { return g_status; }

int32_t ThreadRseqCpuId() { return VolatileLoadS32(ThreadRseqArea() + arch::kRseqCpuIdOffset); }

uint32_t ThreadRseqFlags() { return VolatileLoadU32(ThreadRseqArea() + arch::kRseqFlagsOffset); }

}  // namespace percpu
}  // namespace rseqmalloc

// Kernel ABI constants for rseq, membarrier and the time-slice extension, plus the per-arch
// abort signature. Only numbers live here: no code, no allocation, usable from any layer.
#ifndef RSEQMALLOC_ARCH_RSEQ_ABI_H_
#define RSEQMALLOC_ARCH_RSEQ_ABI_H_

#include <stddef.h>
#include <stdint.h>

namespace rseqmalloc {
namespace arch {

// Byte offsets inside struct rseq (include/uapi/linux/rseq.h). The critical sections address the
// area through these, so they are spelled out instead of taken from a kernel header that may be
// older than the kernel we run on.
inline constexpr size_t kRseqCpuIdStartOffset = 0;   // u32, kernel-owned
inline constexpr size_t kRseqCpuIdOffset = 4;        // s32, kernel-owned (-1 = not registered)
inline constexpr size_t kRseqCsOffset = 8;           // u64, written by us, cleared by the kernel
inline constexpr size_t kRseqFlagsOffset = 16;       // u32, kernel-owned since 7.0
inline constexpr size_t kRseqNodeIdOffset = 20;      // u32, kernel-owned
inline constexpr size_t kRseqMmCidOffset = 24;       // u32, kernel-owned
inline constexpr size_t kRseqSliceRequestOffset = 28;  // u8, written by us
inline constexpr size_t kRseqSliceGrantedOffset = 29;  // u8, kernel-owned

// Size of the original struct rseq; a registration of exactly this length is "legacy".
inline constexpr uint32_t kRseqOriginalSize = 32;
// Feature size reported by kernels that predate AT_RSEQ_FEATURE_SIZE (cpu_id_start..flags).
inline constexpr uint32_t kRseqOriginalFeatureSize = 20;
// Feature size that covers mm_cid (offsetofend(struct rseq, mm_cid)).
inline constexpr uint32_t kRseqFeatureSizeWithMmCid = 28;
// Feature size that covers slice_ctrl (offsetofend(struct rseq, slice_ctrl)).
inline constexpr uint32_t kRseqFeatureSizeWithSliceCtrl = 32;

inline constexpr int32_t kRseqCpuIdUninitialized = -1;
inline constexpr int32_t kRseqCpuIdRegistrationFailed = -2;  // written by glibc only

inline constexpr int kRseqFlagUnregister = 1 << 0;
inline constexpr int kRseqFlagSliceExtDefaultOn = 1 << 1;
inline constexpr uint32_t kRseqCsFlagSliceExtAvailable = 1u << 4;
inline constexpr uint32_t kRseqCsFlagSliceExtEnabled = 1u << 5;

inline constexpr unsigned long kAtRseqFeatureSize = 27;
inline constexpr unsigned long kAtRseqAlign = 28;

inline constexpr int kPrRseqSliceExtension = 79;
inline constexpr int kPrRseqSliceExtensionGet = 1;
inline constexpr int kPrRseqSliceExtensionSet = 2;
inline constexpr int kPrRseqSliceExtEnable = 1;
// Kernel-internal errno that leaks to user space when the extension is compiled out.
inline constexpr int kErrnoEnotsupp = 524;

inline constexpr int kMembarrierCmdQuery = 0;
inline constexpr int kMembarrierCmdPrivateExpeditedRseq = 1 << 7;
inline constexpr int kMembarrierCmdRegisterPrivateExpeditedRseq = 1 << 8;
inline constexpr int kMembarrierCmdFlagCpu = 1 << 0;

#if defined(__x86_64__)
inline constexpr long kSysRseq = 334;
inline constexpr long kSysMembarrier = 324;
inline constexpr long kSysRseqSliceYield = 471;
// glibc's RSEQ_SIG for x86: we may share glibc's registration, so we must use its signature.
inline constexpr uint32_t kRseqSignature = 0x53053053;
#define RSEQMALLOC_RSEQ_SIG_ASM "0x53053053"
#elif defined(__aarch64__)
inline constexpr long kSysRseq = 293;
inline constexpr long kSysMembarrier = 283;
inline constexpr long kSysRseqSliceYield = 471;
// glibc's RSEQ_SIG for aarch64 (little endian): "brk #0x45e0".
inline constexpr uint32_t kRseqSignature = 0xd428bc00;
#define RSEQMALLOC_RSEQ_SIG_ASM "0xd428bc00"
#else
#error "rseqmalloc: rseq critical sections exist only for x86_64 and aarch64"
#endif

}  // namespace arch
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ARCH_RSEQ_ABI_H_

// The parts of the Linux rseq ABI that the guest probes use, spelled out here on purpose: the
// probes check the kernel, so they must not depend on the project's own rseq layer (percpu/) or on
// the build machine's kernel headers, which predate Linux 7.x.
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_GUEST_RSEQ_ABI_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_GUEST_RSEQ_ABI_H_

#include <cstdint>

namespace rseqmalloc {
namespace kernel_vm {

// struct rseq as of Linux 7.0+ (feature size 33). Only the offsets matter; the probes keep the
// struct inside a larger, more strictly aligned area they own.
struct RseqArea {
  volatile uint32_t cpu_id_start;  // 0
  volatile uint32_t cpu_id;        // 4
  volatile uint64_t rseq_cs;       // 8
  volatile uint32_t flags;         // 16
  volatile uint32_t node_id;       // 20
  volatile uint32_t mm_cid;        // 24
  volatile uint8_t slice_request;  // 28: user sets, kernel clears when it grants
  volatile uint8_t slice_granted;  // 29: kernel only
  volatile uint16_t slice_reserved;
  volatile uint8_t reserved33;  // 32: makes the feature size 33
};
static_assert(sizeof(uint32_t) == 4, "");

constexpr unsigned long kAtRseqFeatureSize = 27;
constexpr unsigned long kAtRseqAlign = 28;
constexpr uint32_t kRseqFlagSliceExtAvailable = 1u << 4;
constexpr uint32_t kRseqFlagSliceExtEnabled = 1u << 5;
constexpr int kRseqFlagUnregister = 1 << 0;
constexpr int kPrRseqSliceExtension = 79;
constexpr int kPrRseqSliceExtensionGet = 1;
constexpr int kPrRseqSliceExtensionSet = 2;
constexpr int kPrRseqSliceExtEnable = 1;
constexpr long kSysRseqSliceYield = 471;  // same number on x86_64 and arm64
constexpr int kEnotsupp = 524;            // kernel-internal errno leaked by the prctl stub

#if defined(__x86_64__)
constexpr uint32_t kRseqSignature = 0x53053053;
#elif defined(__aarch64__)
constexpr uint32_t kRseqSignature = 0xd428bc00;
#else
#error "kernel_vm guests exist for x86_64 and aarch64 only"
#endif

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_GUEST_RSEQ_ABI_H_

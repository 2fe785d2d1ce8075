// Compiled, never run: the guest build (run.sh) compiles this file for x86_64 and aarch64 with
// -I pointing at the uapi headers unpacked from the same linux-source-7.3 package that the
// x86_64 guest kernel is built from, so that a struct rseq or slice_ctrl layout that differs
// from the offsets rseqmalloc hard-codes (arch/rseq_abi.h) fails the suite at build time.
#include <linux/rseq.h>
#include <stddef.h>

#include "arch/rseq_abi.h"

namespace rseqmalloc {
namespace arch {

static_assert(offsetof(struct rseq, cpu_id_start) == kRseqCpuIdStartOffset, "cpu_id_start");
static_assert(offsetof(struct rseq, cpu_id) == kRseqCpuIdOffset, "cpu_id");
static_assert(offsetof(struct rseq, rseq_cs) == kRseqCsOffset, "rseq_cs");
static_assert(offsetof(struct rseq, flags) == kRseqFlagsOffset, "flags");
static_assert(offsetof(struct rseq, node_id) == kRseqNodeIdOffset, "node_id");
static_assert(offsetof(struct rseq, mm_cid) == kRseqMmCidOffset, "mm_cid");
// The targeted slice_ctrl layout: one u32 whose first byte is `request` and second `granted`.
static_assert(sizeof(struct rseq_slice_ctrl) == 4, "slice_ctrl is one u32");
static_assert(offsetof(struct rseq, slice_ctrl) + offsetof(struct rseq_slice_ctrl, request) ==
                  kRseqSliceRequestOffset,
              "slice_ctrl.request");
static_assert(offsetof(struct rseq, slice_ctrl) + offsetof(struct rseq_slice_ctrl, granted) ==
                  kRseqSliceGrantedOffset,
              "slice_ctrl.granted");
static_assert(offsetof(struct rseq, slice_ctrl) + sizeof(struct rseq_slice_ctrl) ==
                  kRseqFeatureSizeWithSliceCtrl,
              "feature size that covers slice_ctrl");
static_assert(offsetof(struct rseq, mm_cid) + 4 == kRseqFeatureSizeWithMmCid, "mm_cid end");
static_assert(RSEQ_FLAG_UNREGISTER == kRseqFlagUnregister, "unregister flag");
static_assert(RSEQ_FLAG_SLICE_EXT_DEFAULT_ON == kRseqFlagSliceExtDefaultOn, "default-on flag");
static_assert(RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE == kRseqCsFlagSliceExtAvailable, "available");
static_assert(RSEQ_CS_FLAG_SLICE_EXT_ENABLED == kRseqCsFlagSliceExtEnabled, "enabled");

}  // namespace arch
}  // namespace rseqmalloc

// Making a slot's owner notice a change: after FenceSlot(slot) returns, any critical section that
// was running on that slot has been aborted (or had finished), and every critical section that
// starts later sees the caller's earlier stores (in particular the slot's "stopped" state).
#ifndef RSEQMALLOC_PERCPU_FENCE_H_
#define RSEQMALLOC_PERCPU_FENCE_H_

#include <stdint.h>

namespace rseqmalloc {
namespace percpu {

// membarrier(PRIVATE_EXPEDITED_RSEQ) aimed at CPU `slot` when slots are CPUs, at all CPUs when
// they are mm_cids (a CID names no CPU). Falls back to running this thread on each possible CPU
// that the kernel lets it run on, in turn, when membarrier is unusable.
// Returns false when the fence could not be completed (membarrier failed and the fallback could
// not run: its affinity mask unreadable, no memory, or not one CPU entered). Then nothing is
// guaranteed, and the caller must not act as if the slot's owner had noticed anything.
[[nodiscard]] bool FenceSlot(int slot);

enum class FenceMethod : uint8_t { kNone, kMembarrier, kAffinity };
// Method FenceSlot uses (kNone before RseqProcessInit succeeded: then there is nothing to fence).
FenceMethod CurrentFenceMethod();

// Tests: make FenceSlot take the affinity fallback even though membarrier works.
void ForceAffinityFenceForTesting(bool force);

namespace internal {
// Called once by RseqProcessInit when rseq is usable; num_cpus = possible CPUs.
void FenceProcessInit(bool slots_are_cpus, uint32_t num_cpus);
}  // namespace internal

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_FENCE_H_

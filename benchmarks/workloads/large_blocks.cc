// Multi-MiB blocks allocated and freed in a loop, the way programs handle big buffers (images,
// network or file buffers, column chunks). Four blocks of 1 to 32 MiB are live at a time; each step
// frees one and allocates another, and writes its stamp, which touches every page. An allocator that
// gives such blocks back to the system on every free (munmap or madvise right away) pays for the
// page faults of the next one, over and over: on the development machine two well-known allocators
// ran a loop like this 5-6x slower than glibc, which keeps them. The runner compares it with glibc.
#include <cstdint>
#include <cstdlib>

#include "benchmarks/workloads/check_log.h"
#include "benchmarks/workloads/object_stamp.h"
#include "benchmarks/workloads/rng.h"
#include "benchmarks/workloads/workload_options.h"
#include "benchmarks/workloads/workload_result.h"

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "large_blocks", "Allocate, touch and free blocks of 1 to 32 MiB in a loop.");
  constexpr int kLive = 4;
  const uint64_t steps = ScaledCount(options, 250, 8);
  CheckLog log;
  Rng rng(42);
  StampedObject live[kLive];
  for (uint64_t step = 0; step < steps; ++step) {
    StampedObject& slot = live[rng.Below(kLive)];
    if (slot.memory != nullptr) VerifyAndFree(log, slot, "large_blocks: block changed");
    size_t size = LogUniformSize(rng, 1 << 20, 32 << 20);
    slot = AllocateStamped(log, size, rng.Next());
  }
  for (StampedObject& slot : live) {
    if (slot.memory != nullptr) VerifyAndFree(log, slot, "large_blocks: block changed at the end");
  }
  return FinishWorkload("large_blocks", options, steps, log);
}

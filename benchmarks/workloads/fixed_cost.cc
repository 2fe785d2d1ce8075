// The fixed cost of an allocator in a small program: what a `true`-like tool that makes a couple of
// thousand small allocations (its option table, a few strings, a small map) pays in resident memory
// before doing anything. The runner's peak RSS column is the measurement; the work is tiny and the
// same for every --scale, because the point is the allocator's start-up footprint (metadata, the
// first spans or arenas, per-CPU or per-thread caches), not throughput.
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
      argc, argv, "fixed_cost", "A small program's allocations (the runner reads its peak RSS).");
  constexpr int kObjects = 2000;
  CheckLog log;
  Rng rng(7);
  static StampedObject objects[kObjects];
  for (StampedObject& object : objects) {
    size_t size = LogUniformSize(rng, 8, 512);
    object = AllocateStamped(log, size, rng.Next());
  }
  for (StampedObject& object : objects) VerifyAndFree(log, object, "fixed_cost: object changed");
  return FinishWorkload("fixed_cost", options, kObjects, log);
}

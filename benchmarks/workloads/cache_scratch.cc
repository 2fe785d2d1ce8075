// cache-scratch-like passive false sharing; see false_sharing.h.
#include "benchmarks/workloads/false_sharing.h"

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "cache_scratch",
      "Passive false sharing: threads first free objects the main thread allocated together.");
  return RunFalseSharing(FalseSharingKind::kPassive, "cache_scratch", options);
}

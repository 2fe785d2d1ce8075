// cache-thrash-like active false sharing; see false_sharing.h.
#include "benchmarks/workloads/false_sharing.h"

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "cache_thrash", "Active false sharing: threads allocate and write small objects.");
  return RunFalseSharing(FalseSharingKind::kActive, "cache_thrash", options);
}

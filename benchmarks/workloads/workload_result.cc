#include "benchmarks/workloads/workload_result.h"

#include <unistd.h>

#include <cstdio>

namespace rseqmalloc {
namespace bench {
int FinishWorkload(const char* name, const WorkloadOptions& options, uint64_t ops,
                   const CheckLog& log, const std::string& extra) {
  bool ok = log.failures() == 0;
  std::printf("RESULT workload=%s threads=%d ops=%llu check=%s failures=%llu%s%s\n", name,
              options.threads, static_cast<unsigned long long>(ops), ok ? "ok" : "FAILED",
              static_cast<unsigned long long>(log.failures()), extra.empty() ? "" : " ",
              extra.c_str());
  std::fflush(stdout);
  return ok ? 0 : 1;
}

uint64_t CurrentRssKib() {
  FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  unsigned long long pages_total = 0, pages_resident = 0;
  int fields = std::fscanf(statm, "%llu %llu", &pages_total, &pages_resident);
  std::fclose(statm);
  if (fields != 2) return 0;
  return pages_resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

}  // namespace bench
}  // namespace rseqmalloc

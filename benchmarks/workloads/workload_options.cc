#include "benchmarks/workloads/workload_options.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace rseqmalloc {
namespace bench {
namespace {

[[noreturn]] void Usage(const char* name, const char* description, int status) {
  std::fprintf(status == 0 ? stdout : stderr,
               "usage: %s [--threads N] [--scale X] [--idle SECONDS]\n%s\n"
               "  --threads N   worker threads (default 2)\n"
               "  --scale X     multiplies the fixed amount of work (default 1.0)\n"
               "  --idle S      idle period where the workload has one (default 1.0)\n",
               name, description);
  std::exit(status);
}

double ParseNumber(const char* name, const char* description, const char* text) {
  char* end = nullptr;
  double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(value >= 0)) {
    std::fprintf(stderr, "%s: not a non-negative number: '%s'\n", name, text);
    Usage(name, description, 2);
  }
  return value;
}

}  // namespace

WorkloadOptions ParseWorkloadOptions(int argc, char** argv, const char* name,
                                     const char* description) {
  WorkloadOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") Usage(name, description, 0);
    if (i + 1 >= argc) Usage(name, description, 2);
    const char* value = argv[++i];
    if (arg == "--threads") {
      double threads = ParseNumber(name, description, value);
      if (threads < 1 || threads > 1024) Usage(name, description, 2);
      options.threads = static_cast<int>(threads);
    } else if (arg == "--scale") {
      options.scale = ParseNumber(name, description, value);
    } else if (arg == "--idle") {
      options.idle_seconds = ParseNumber(name, description, value);
    } else {
      Usage(name, description, 2);
    }
  }
  return options;
}

uint64_t ScaledCount(const WorkloadOptions& options, double base, uint64_t minimum) {
  double scaled = std::floor(base * options.scale);
  return scaled < static_cast<double>(minimum) ? minimum : static_cast<uint64_t>(scaled);
}

}  // namespace bench
}  // namespace rseqmalloc

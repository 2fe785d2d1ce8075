#include "benchmarks/workloads/workload_support.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

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

// The word written at `offset` of an object stamped with `tag`: differs per offset so that an
// object copied or shifted onto another one does not pass.
uint64_t StampWord(uint64_t tag, size_t offset) {
  return tag ^ (static_cast<uint64_t>(offset) * 0xD6E8FEB86659FD93ull);
}

// The stamp is one fixed byte pattern over the whole object (word k of it is StampWord(tag, 8k));
// only some 8-byte windows of it are written. Windows may overlap (the tail window of a 12-byte
// object overlaps the head) and then write the same bytes, so the check stays exact.
unsigned char PatternByte(uint64_t tag, size_t offset) {
  return static_cast<unsigned char>(StampWord(tag, offset & ~size_t{7}) >> (8 * (offset & 7)));
}

template <typename Visit>
bool ForEachWindow(size_t size, Visit visit) {
  size_t head = size < sizeof(uint64_t) ? size : sizeof(uint64_t);
  if (!visit(0, head)) return false;
  for (size_t offset = kStampStride; offset + sizeof(uint64_t) <= size; offset += kStampStride) {
    if (!visit(offset, sizeof(uint64_t))) return false;
  }
  if (size > sizeof(uint64_t)) return visit(size - sizeof(uint64_t), sizeof(uint64_t));
  return true;
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

size_t LogUniformSize(Rng& rng, size_t min_size, size_t max_size) {
  double lo = std::log2(static_cast<double>(min_size));
  double hi = std::log2(static_cast<double>(max_size));
  size_t size = static_cast<size_t>(std::exp2(lo + (hi - lo) * rng.Unit()));
  if (size < min_size) size = min_size;
  if (size > max_size) size = max_size;
  return size;
}

void StampObject(void* object, size_t size, uint64_t tag) {
  auto* bytes = static_cast<unsigned char*>(object);
  ForEachWindow(size, [&](size_t offset, size_t length) {
    if (length == sizeof(uint64_t) && offset % sizeof(uint64_t) == 0) {
      uint64_t word = StampWord(tag, offset);
      std::memcpy(bytes + offset, &word, sizeof word);
    } else {
      for (size_t i = offset; i < offset + length; ++i) bytes[i] = PatternByte(tag, i);
    }
    return true;
  });
}

bool StampIntact(const void* object, size_t size, uint64_t tag) {
  const auto* bytes = static_cast<const unsigned char*>(object);
  return ForEachWindow(size, [&](size_t offset, size_t length) {
    if (length == sizeof(uint64_t) && offset % sizeof(uint64_t) == 0) {
      uint64_t word = StampWord(tag, offset);
      return std::memcmp(bytes + offset, &word, sizeof word) == 0;
    }
    for (size_t i = offset; i < offset + length; ++i) {
      if (bytes[i] != PatternByte(tag, i)) return false;
    }
    return true;
  });
}

void CheckLog::Fail(const char* workload_step, size_t size) {
  uint64_t before = failures_.fetch_add(1, std::memory_order_relaxed);
  // A broken allocator fails thousands of checks; the first few say enough.
  if (before < 5) std::fprintf(stderr, "check failed: %s (object of %zu bytes)\n", workload_step, size);
}

bool VerifyStamp(CheckLog& log, const void* object, size_t size, uint64_t tag, const char* step) {
  if (StampIntact(object, size, tag)) return true;
  log.Fail(step, size);
  return false;
}

void* AllocateOrFail(CheckLog& log, size_t size) {
  void* object = std::malloc(size);
  if (object == nullptr) {
    log.Fail("malloc returned null", size);
    std::fprintf(stderr, "out of memory, giving up\n");
    std::exit(1);
  }
  return object;
}

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

#include "benchmarks/workloads/check_log.h"

#include <cstdio>
#include <cstdlib>

#include "benchmarks/workloads/object_stamp.h"

namespace rseqmalloc {
namespace bench {
void CheckLog::Fail(const char* workload_step, size_t size) {
  uint64_t before = failures_.fetch_add(1, std::memory_order_relaxed);
  // A broken allocator fails thousands of checks; the first few say enough.
  if (before < 5) std::fprintf(stderr, "check failed: %s (object of %zu bytes)\n", workload_step, size);
}

void VerifyAndFree(CheckLog& log, const StampedObject& object, const char* step) {
  VerifyStamp(log, object.memory, object.size, object.tag, step);
  std::free(object.memory);
}

bool VerifyStamp(CheckLog& log, const void* object, size_t size, uint64_t tag, const char* step) {
  if (StampIntact(object, size, tag)) return true;
  log.Fail(step, size);
  return false;
}

StampedObject AllocateStamped(CheckLog& log, size_t size, uint64_t tag) {
  StampedObject object;
  object.size = size;
  object.tag = tag;
  object.memory = AllocateOrFail(log, size);
  StampObject(object.memory, size, tag);
  return object;
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

}  // namespace bench
}  // namespace rseqmalloc

// glibc's introspection functions, answered from rseqmalloc's own statistics so that programs
// that call them see this heap rather than glibc's unused one.
#include <errno.h>
#include <malloc.h>
#include <stdio.h>

#include "allocator/diagnostics.h"
#include "allocator/heap.h"
#include "allocator/page_heap.h"
#include "allocator/statistics.h"

#define RSEQMALLOC_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

uint64_t Stat(const char* name) {
  uint64_t value = 0;
  rseqmalloc::GetStatistic(name, &value);
  return value;
}

// Bytes the application holds: page-heap spans in use, less what the caches keep free in them.
uint64_t ApplicationBytes() {
  const uint64_t in_use = Stat("page_heap.in_use_bytes");
  const uint64_t cached = Stat("cpu_cache.bytes") + Stat("transfer_cache.bytes") +
                          Stat("central_free_list.bytes");
  return in_use > cached ? in_use - cached : 0;
}

}  // namespace

RSEQMALLOC_EXPORT int malloc_trim(size_t) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::g_page_heap.ReleaseFree(0) > 0 ? 1 : 0;
}

RSEQMALLOC_EXPORT int mallopt(int, int) { return 0; }

RSEQMALLOC_EXPORT struct mallinfo2 mallinfo2() {
  rseqmalloc::EnsureInitialized();
  struct mallinfo2 info = {};
  info.arena = Stat("page_heap.system_bytes");
  info.uordblks = ApplicationBytes();
  info.fordblks = Stat("page_heap.free_bytes") + Stat("cpu_cache.bytes") +
                  Stat("transfer_cache.bytes") + Stat("central_free_list.bytes");
  info.keepcost = Stat("page_heap.free_bytes");
  return info;
}

RSEQMALLOC_EXPORT struct mallinfo mallinfo() {
  const struct mallinfo2 wide = mallinfo2();
  struct mallinfo info = {};
  // The old interface has int fields: values saturate rather than wrap.
  auto clamp = [](size_t v) { return v > 0x7fffffff ? 0x7fffffff : static_cast<int>(v); };
  info.arena = clamp(wide.arena);
  info.uordblks = clamp(wide.uordblks);
  info.fordblks = clamp(wide.fordblks);
  info.keepcost = clamp(wide.keepcost);
  return info;
}

RSEQMALLOC_EXPORT void malloc_stats() {
  rseqmalloc::EnsureInitialized();
  rseqmalloc::Log("application bytes %lu", static_cast<unsigned long>(ApplicationBytes()));
  rseqmalloc::ForEachStatistic(
      [](const char* name, uint64_t value, void*) {
        rseqmalloc::Log("%s %lu", name, static_cast<unsigned long>(value));
      },
      nullptr);
}

RSEQMALLOC_EXPORT int malloc_info(int options, FILE* out) {
  if (options != 0 || out == nullptr) {
    errno = EINVAL;
    return -1;
  }
  rseqmalloc::EnsureInitialized();
  fprintf(out, "<malloc version=\"rseqmalloc-1\">\n");
  fprintf(out, "  <stat name=\"application_bytes\" value=\"%lu\"/>\n",
          static_cast<unsigned long>(ApplicationBytes()));
  rseqmalloc::ForEachStatistic(
      [](const char* name, uint64_t value, void* file) {
        fprintf(static_cast<FILE*>(file), "  <stat name=\"%s\" value=\"%lu\"/>\n", name,
                static_cast<unsigned long>(value));
      },
      out);
  fprintf(out, "</malloc>\n");
  return 0;
}

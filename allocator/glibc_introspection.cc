// glibc's introspection functions, answered from rseqmalloc's own statistics so that programs
// that call them see this heap rather than glibc's unused one.
#include <errno.h>
#include <malloc.h>
#include <stdio.h>

#include "allocator/diagnostics.h"
#include "allocator/heap.h"
#include "allocator/memory_release.h"
#include "allocator/statistics.h"

#define RSEQMALLOC_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

uint64_t Stat(const char* name) {
  uint64_t value = 0;
  rseqmalloc::GetStatistic(name, &value);
  return value;
}

}  // namespace

// Empties the caches and releases all free memory; 1 if any memory went back to the system.
RSEQMALLOC_EXPORT int malloc_trim(size_t) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::ReleaseMemory(0) > 0 ? 1 : 0;
}

// glibc's tuning knobs are about arenas and sbrk, which rseqmalloc does not have: none is
// applied, and mallopt says so by returning 0 (see README, "Configuration"), except
// M_TRIM_THRESHOLD < 0 and M_MMAP_THRESHOLD, accepted and without effect (programs check them).
RSEQMALLOC_EXPORT int mallopt(int param, int value) {
  if (param == M_MMAP_THRESHOLD) return 1;
  if (param == M_TRIM_THRESHOLD && value < 0) return 1;
  return 0;
}

RSEQMALLOC_EXPORT struct mallinfo2 mallinfo2() {
  rseqmalloc::EnsureInitialized();
  struct mallinfo2 info = {};
  info.arena = Stat("page_heap.system_bytes");
  info.uordblks = Stat("application_bytes");
  info.fordblks = Stat("page_heap.free_bytes") + Stat("cpu_cache.bytes") +
                  Stat("transfer_cache.bytes") + Stat("central_free_list.bytes");
  info.keepcost = Stat("page_heap.free_bytes");
  info.hblkhd = Stat("page_heap.returned_bytes");
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
  info.hblkhd = clamp(wide.hblkhd);
  return info;
}

// Prints every statistic on stderr, one "rseqmalloc: name value" line each.
RSEQMALLOC_EXPORT void malloc_stats() {
  rseqmalloc::EnsureInitialized();
  rseqmalloc::ForEachStatistic(
      [](const char* name, uint64_t value, void*) {
        rseqmalloc::Log("%s %lu", name, static_cast<unsigned long>(value));
      },
      nullptr);
}

// The statistics as XML: <malloc version="rseqmalloc-1"> with one <stat name= value=/> each.
RSEQMALLOC_EXPORT int malloc_info(int options, FILE* out) {
  if (options != 0 || out == nullptr) {
    errno = EINVAL;
    return -1;
  }
  rseqmalloc::EnsureInitialized();
  fprintf(out, "<malloc version=\"rseqmalloc-1\">\n");
  rseqmalloc::ForEachStatistic(
      [](const char* name, uint64_t value, void* file) {
        fprintf(static_cast<FILE*>(file), "  <stat name=\"%s\" value=\"%lu\"/>\n", name,
                static_cast<unsigned long>(value));
      },
      out);
  fprintf(out, "</malloc>\n");
  return 0;
}

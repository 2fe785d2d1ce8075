// The control side of the extension API (allocator/rseqmalloc.h): releasing memory, cache
// budgets, the background release. The read side is in introspection.cc.
#include "allocator/cpu_cache.h"
#include "allocator/heap.h"
#include "allocator/memory_release.h"
#include "allocator/profile/profiler.h"
#include "allocator/rseqmalloc.h"
#include "allocator/statistics.h"

extern "C" {

size_t rseqmalloc_stats_text(char* buf, size_t size) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::FormatStatistics(buf, size);
}

size_t rseqmalloc_release_memory(size_t bytes) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::ReleaseMemory(bytes);
}

size_t rseqmalloc_get_cpu_cache_budget(void) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::g_cpu_cache.budget();
}

void rseqmalloc_set_cpu_cache_budget(size_t bytes) {
  rseqmalloc::EnsureInitialized();
  rseqmalloc::g_cpu_cache.set_budget(bytes);
}

void rseqmalloc_flush_cpu_cache(void) {
  rseqmalloc::EnsureInitialized();
  rseqmalloc::g_cpu_cache.DrainCurrentSlot();
}

int rseqmalloc_set_background_release(int on) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::SetBackgroundRelease(on != 0) ? 1 : 0;
}

int rseqmalloc_start_release_thread(void) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::StartReleaseThread() ? 1 : 0;
}

int rseqmalloc_profile_write(int kind, int fd) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::profile::WriteProfileTo(kind, fd);
}

size_t rseqmalloc_profile_format(int kind, char* buf, size_t size) {
  rseqmalloc::EnsureInitialized();
  return rseqmalloc::profile::FormatProfileInto(kind, buf, size);
}

void rseqmalloc_profile_start_window(void) {
  rseqmalloc::EnsureInitialized();
  rseqmalloc::profile::StartGrowthWindow();
}

}  // extern "C"

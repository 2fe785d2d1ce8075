#include "allocator/hugepage_system.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "allocator/common.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25  // Linux 6.1; older headers lack it
#endif

namespace rseqmalloc {
namespace {

RSEQMALLOC_CONSTINIT ThpMode g_thp_mode = ThpMode::kUnknown;
RSEQMALLOC_CONSTINIT bool g_collapse_unavailable = false;

// The file reads e.g. "always [madvise] never": the bracketed word is the mode.
ThpMode ReadThpMode() {
  const int fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ThpMode::kNever;
  char text[128];
  const ssize_t n = read(fd, text, sizeof(text) - 1);
  close(fd);
  if (n <= 0) return ThpMode::kNever;
  text[n] = '\0';
  if (strstr(text, "[always]") != nullptr) return ThpMode::kAlways;
  if (strstr(text, "[madvise]") != nullptr) return ThpMode::kMadvise;
  return ThpMode::kNever;
}

}  // namespace

ThpMode GetThpMode() {
  ThpMode mode = __atomic_load_n(&g_thp_mode, __ATOMIC_RELAXED);
  if (mode == ThpMode::kUnknown) {
    const int saved_errno = errno;
    mode = ReadThpMode();
    errno = saved_errno;
    __atomic_store_n(&g_thp_mode, mode, __ATOMIC_RELAXED);  // racing readers agree
  }
  return mode;
}

void SetThpModeForTesting(ThpMode mode) { __atomic_store_n(&g_thp_mode, mode, __ATOMIC_RELAXED); }

const char* ThpModeName(ThpMode mode) {
  switch (mode) {
    case ThpMode::kNever: return "never";
    case ThpMode::kMadvise: return "madvise";
    case ThpMode::kAlways: return "always";
    default: return "unknown";
  }
}

bool AdviseHugepages(void* start, size_t bytes) {
  const int saved_errno = errno;
  const bool ok = madvise(start, bytes, MADV_HUGEPAGE) == 0;
  errno = saved_errno;
  return ok;
}

bool CollapseAvailable() { return !__atomic_load_n(&g_collapse_unavailable, __ATOMIC_RELAXED); }

bool CollapseHugepage(void* start) {
  if (!CollapseAvailable()) return false;
  const int saved_errno = errno;
  const bool ok = madvise(start, kHugePageSize, MADV_COLLAPSE) == 0;
  // EINVAL: a kernel without MADV_COLLAPSE. EAGAIN/ENOMEM are transient (no free hugepage).
  if (!ok && errno == EINVAL) __atomic_store_n(&g_collapse_unavailable, true, __ATOMIC_RELAXED);
  errno = saved_errno;
  return ok;
}

}  // namespace rseqmalloc

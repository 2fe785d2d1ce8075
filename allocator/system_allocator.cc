#include "allocator/system_allocator.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <atomic>

#include "allocator/common.h"

namespace rseqmalloc {
namespace {

// Cached because sysconf may be slow and is called on every mapping; 0 means "not read yet".
// A race only makes two threads read the same value.
std::atomic<size_t> g_system_page_size{0};

}  // namespace

uint64_t CoarseMonotonicMs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec) / 1000000;
}

size_t SystemPageSize() {
  size_t size = g_system_page_size.load(std::memory_order_relaxed);
  if (size == 0) {
    const long value = sysconf(_SC_PAGESIZE);
    size = value > 0 ? static_cast<size_t>(value) : 4096;
    g_system_page_size.store(size, std::memory_order_relaxed);
  }
  return size;
}

void* SystemAlloc(size_t bytes, size_t alignment) {
  const size_t os_page = SystemPageSize();
  if (bytes == 0 || !IsPowerOfTwo(alignment) || alignment > kMaxSystemAlignment) {
    errno = EINVAL;
    return nullptr;
  }
  if (alignment < os_page) alignment = os_page;
  size_t length;
  if (!RoundUpChecked(bytes, os_page, &length)) {
    errno = ENOMEM;
    return nullptr;
  }
  // mmap already returns kernel-page-aligned memory; anything stricter is obtained by
  // over-mapping and trimming, which costs address space only for the duration of the call.
  const size_t slack = alignment - os_page;
  if (length > ~size_t{0} - slack) {
    errno = ENOMEM;
    return nullptr;
  }
  const size_t mapped = length + slack;
  // MAP_NORESERVE: regions are reserved large and touched lazily, so they must not count
  // against overcommit accounting up front.
  void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) return nullptr;  // errno set by mmap
  if (slack == 0) return raw;

  const uintptr_t begin = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (begin + alignment - 1) & ~(uintptr_t{alignment} - 1);
  const size_t head = aligned - begin;
  const size_t tail = mapped - head - length;
  const int saved_errno = errno;
  if (head != 0) munmap(raw, head);
  if (tail != 0) munmap(reinterpret_cast<void*>(aligned + length), tail);
  errno = saved_errno;
  return reinterpret_cast<void*>(aligned);
}

bool SystemRelease(void* start, size_t bytes) {
  // Only whole kernel pages can be released. With 4 KiB kernel pages our 8 KiB runs always
  // are; with 16/64 KiB pages (some aarch64 kernels) the partial pages at the ends stay
  // resident, which costs a little memory and is otherwise harmless.
  const uintptr_t os_page = SystemPageSize();
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(start) + os_page - 1) & ~(os_page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(start) + bytes) & ~(os_page - 1);
  if (end <= begin) return true;
  const int saved_errno = errno;
  const bool ok = madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED) == 0;
  errno = saved_errno;
  return ok;
}

void SystemZero(void* start, size_t bytes) {
  char* const base = static_cast<char*>(start);
  const uintptr_t os_page = SystemPageSize();
  // mincore and madvise take whole kernel pages: the partial pages at the ends (only on kernels
  // with pages above our 8 KiB) are cleared with memset.
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(base) + os_page - 1) & ~(os_page - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(base) + bytes) & ~(os_page - 1);
  if (hi <= lo || hi - lo < kZeroProbeMinBytes) {
    memset(base, 0, bytes);
    return;
  }
  memset(base, 0, lo - reinterpret_cast<uintptr_t>(base));
  memset(reinterpret_cast<void*>(hi), 0, reinterpret_cast<uintptr_t>(base) + bytes - hi);
  const int saved_errno = errno;
  // Consecutive pieces with the same verdict are handled by one memset or one madvise.
  uintptr_t pending = lo;
  bool pending_release = false;
  auto flush = [&](uintptr_t to) {
    if (to == pending) return;
    if (!pending_release ||
        madvise(reinterpret_cast<void*>(pending), to - pending, MADV_DONTNEED) != 0) {
      memset(reinterpret_cast<void*>(pending), 0, to - pending);
    }
    pending = to;
  };
  // One mincore call per window of up to 16 MiB; its vector (a byte per kernel page) lives on
  // the stack. Windows are a whole number of pieces.
  unsigned char resident[4096];
  const size_t window = sizeof(resident) * (os_page < 4096 ? os_page : 4096);
  for (uintptr_t w = lo; w < hi; w += window) {
    const uintptr_t w_end = hi - w < window ? hi : w + window;
    if (mincore(reinterpret_cast<void*>(w), w_end - w, resident) != 0) {
      // Nothing known about this window: clear it.
      flush(w);
      pending_release = false;
      continue;
    }
    for (uintptr_t p = w; p < w_end; p += kZeroPieceBytes) {
      const uintptr_t p_end = w_end - p < kZeroPieceBytes ? w_end : p + kZeroPieceBytes;
      const size_t first = (p - w) / os_page;
      const size_t count = (p_end - p) / os_page;
      size_t present = 0;
      for (size_t i = 0; i < count; ++i) present += resident[first + i] & 1;
      // Mostly absent: releasing costs the program a fault only for the pages it touches
      // again, while memset would fault in every absent page now.
      const bool release = 2 * present < count;
      if (release != pending_release) {
        flush(p);
        pending_release = release;
      }
    }
  }
  flush(hi);
  errno = saved_errno;
}

void SystemUnmap(void* start, size_t bytes) {
  if (bytes == 0) return;
  const int saved_errno = errno;
  munmap(start, bytes);
  errno = saved_errno;
}

}  // namespace rseqmalloc

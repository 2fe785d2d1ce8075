// Where the slab's regions start inside their reservation: a byte offset (the "color"), a
// multiple of 64 below a page, chosen so that no slot's class headers share address bits 0-11
// with the struct rseq of the thread that sets the slab up.
//
// Why: x86 cores (AMD Zen, at least) first match a load against older stores on bits 0-11 of
// the address and treat a match as a dependency until the full addresses are compared
// ("4K aliasing"). Every fast path stores rseq_cs into struct rseq and then loads a class
// header, and commits `current` into the header before the next one loads the slot key from
// struct rseq. With the regions page-aligned, the header of the 1024-byte class sat at bits
// 0-11 0x0f8, exactly where the main thread's mm_cid field was (glibc's area at 0x0e0):
// malloc(1024)+free cost 1.24x the do-nothing floor in the runner's table, where every other
// row cost 1.01-1.03x.
//
// Only the setting-up thread's area is known here (usually the main thread's). Threads that
// pthread_create makes have theirs at another offset in the page, one offset for all of them
// (glibc places their thread pointer at a fixed distance below a page-aligned stack top); with
// glibc 2.36 on x86_64 that offset (0xfe0) lies beyond the headers of every color this picks.
#ifndef RSEQMALLOC_PERCPU_SLAB_COLOR_H_
#define RSEQMALLOC_PERCPU_SLAB_COLOR_H_

#include <stddef.h>
#include <stdint.h>

#include "arch/rseq_abi.h"
#include "arch/slab_layout.h"

namespace rseqmalloc {
namespace percpu {

inline constexpr size_t kColorPage = 4096;  // the aliasing granule: address bits 0-11
inline constexpr size_t kColorStep = 64;

// Whether [a, a + a_len) and [b, b + b_len) overlap modulo kColorPage (both lengths below it).
constexpr bool OverlapsModPage(size_t a, size_t a_len, size_t b, size_t b_len) {
  const size_t distance = (b - a) % kColorPage;  // where b starts, seen from a
  return distance < a_len || kColorPage - distance < b_len;
}

// The color for a slab of num_classes headers when the setting-up thread's struct rseq is at
// rseq_area: the smallest multiple of kColorStep whose header block (state word and headers)
// keeps clear of the cache line(s) the area occupies. 0 when nothing fits (a block of over
// 3.9 KiB of headers; the slab then works as before, only slower for the aliased classes).
constexpr size_t RegionColor(uintptr_t rseq_area, size_t num_classes) {
  const size_t area_line = rseq_area & ~uintptr_t{kColorStep - 1};
  // The fields a fast path touches (cpu_id, rseq_cs, mm_cid) lie in the original 32 bytes.
  const size_t area_end = rseq_area + arch::kRseqOriginalSize;
  const size_t area_bytes = (area_end + kColorStep - 1) / kColorStep * kColorStep - area_line;
  const size_t block = arch::ClassHeaderOffset(num_classes);
  if (block + area_bytes > kColorPage) return 0;
  for (size_t color = 0; color < kColorPage; color += kColorStep) {
    if (!OverlapsModPage(color, block, area_line, area_bytes)) return color;
  }
  return 0;
}

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_SLAB_COLOR_H_

// What the kernel offers for transparent hugepages, and the two madvise calls that use it.
//
// The mode in /sys/kernel/mm/transparent_hugepage/enabled decides what the page heap does:
//   never:   no hugepages at all; the heap makes no hugepage calls (they would only cost).
//   madvise: only ranges marked MADV_HUGEPAGE get hugepages (at fault time, when the whole
//            aligned 2 MiB is unmapped, or later by khugepaged / MADV_COLLAPSE). Most
//            distributions ship this; the heap marks what it expects to be densely used.
//   always:  every aligned 2 MiB of an anonymous mapping may become a hugepage at its first
//            fault; marking is unnecessary, and sparse use costs whole hugepages anyway.
#ifndef RSEQMALLOC_ALLOCATOR_HUGEPAGE_SYSTEM_H_
#define RSEQMALLOC_ALLOCATOR_HUGEPAGE_SYSTEM_H_

#include <stddef.h>

namespace rseqmalloc {

enum class ThpMode : unsigned char { kUnknown, kNever, kMadvise, kAlways };

// Read once from sysfs (raw syscalls, no allocation), then cached; kNever when the file is
// missing (no THP in the kernel). RSEQMALLOC tests may override it with SetThpModeForTesting.
ThpMode GetThpMode();
void SetThpModeForTesting(ThpMode mode);
const char* ThpModeName(ThpMode mode);

// madvise(MADV_HUGEPAGE) over [start, start + bytes); false if the kernel refused.
bool AdviseHugepages(void* start, size_t bytes);

// madvise(MADV_COLLAPSE) of one 2 MiB hugepage: the kernel copies its resident small pages into
// a hugepage now (Linux 6.1+). Costs a copy of up to 2 MiB, so it is used once per hugepage.
// False if it failed; once the kernel says it does not know the call (EINVAL), never tried again.
bool CollapseHugepage(void* start);
bool CollapseAvailable();

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_HUGEPAGE_SYSTEM_H_

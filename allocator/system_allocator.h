// The allocator's only source of address space: anonymous mmap, and madvise to give memory back.
#ifndef RSEQMALLOC_ALLOCATOR_SYSTEM_ALLOCATOR_H_
#define RSEQMALLOC_ALLOCATOR_SYSTEM_ALLOCATOR_H_

#include <stddef.h>
#include <stdint.h>

namespace rseqmalloc {

// The largest alignment SystemAlloc accepts.
inline constexpr size_t kMaxSystemAlignment = size_t{1} << 30;

// Maps `bytes` (rounded up to the kernel page size) of zeroed, private, MAP_NORESERVE memory whose
// start is a multiple of `alignment` (a power of two, at most 1 GiB). Over-aligned requests map
// bytes + alignment and unmap the excess at both ends. Returns nullptr on failure, with errno
// as mmap left it (ENOMEM), or EINVAL for a bad alignment or zero size.
void* SystemAlloc(size_t bytes, size_t alignment);

// Returns the physical memory behind [start, start + bytes) to the kernel with
// madvise(MADV_DONTNEED) and keeps the mapping: the next touch faults in zero pages. Only the
// whole kernel pages inside the range are released (all of it when it is kernel-page aligned,
// as 8 KiB runs are on 4 KiB-page kernels). errno is preserved. Returns false if the kernel
// refused (the memory then stays resident, which is harmless).
bool SystemRelease(void* start, size_t bytes);

// Makes [start, start + bytes) read zero at the least cost its residency allows, for calloc of a
// reused large block. Clearing with memset makes every page of it resident, though the program
// may touch a few (stress-ng's malloc stressor writes one word per block, and half its peak RSS
// was calloc clearing blocks that had never been touched in full). So mincore looks at the
// range, and each kZeroPieceBytes piece that is mostly not resident is released instead
// (madvise(MADV_DONTNEED): its next touch faults in a zero page); the rest is cleared with
// memset. Pages mincore calls absent may be in swap, which is why they are released and never
// skipped. Where a syscall fails, memset does the work. Ranges below kZeroProbeMinBytes are just
// memset: on the development VM a probe and a release cost about what clearing 2-3 MiB does.
void SystemZero(void* start, size_t bytes);
inline constexpr size_t kZeroPieceBytes = size_t{2} << 20;
inline constexpr size_t kZeroProbeMinBytes = size_t{4} << 20;

// Unmaps memory obtained from SystemAlloc. Only for undoing a mapping that could not be put to
// use (e.g. its pagemap leaves could not be allocated); the heap never unmaps otherwise.
void SystemUnmap(void* start, size_t bytes);

// The kernel's page size (4 KiB on x86_64, 4/16/64 KiB on aarch64).
size_t SystemPageSize();

// A coarse monotonic clock in milliseconds (vDSO, no syscall; a few ms of resolution), for the
// release policies' delays.
uint64_t CoarseMonotonicMs();

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_SYSTEM_ALLOCATOR_H_

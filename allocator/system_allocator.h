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

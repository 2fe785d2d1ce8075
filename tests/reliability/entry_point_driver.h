// A deterministic random driver over every allocation entry point: from a seed it replays a
// sequence of malloc, calloc, realloc, reallocarray, memalign, aligned_alloc, posix_memalign,
// valloc, pvalloc, operator new and their frees (free, free_sized, free_aligned_sized, every
// operator delete), with sizes and alignments that include 0, huge and overflowing values. Each
// result is checked: alignment, usable size, no overlap with live blocks, contents kept across
// realloc and over the block's life, zeroes from calloc, and errno on failure.
#ifndef RSEQMALLOC_TESTS_RELIABILITY_ENTRY_POINT_DRIVER_H_
#define RSEQMALLOC_TESTS_RELIABILITY_ENTRY_POINT_DRIVER_H_

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

namespace rseqmalloc {
namespace reliability {

struct DriverOptions {
  uint64_t seed = 1;
  long max_ops = 100000;
  double max_seconds = 5;
  // The real allocator promises more than glibc 2.36 (aligned_alloc rejects alignments that are
  // not powers of two with EINVAL, as glibc 2.38 does); the placeholder is held to glibc 2.36.
  bool strict_aligned_alloc = true;
  // libstdc++ 12's aligned operator new rounds the size up to the alignment without an overflow
  // check, so a size near SIZE_MAX wraps to 0 and "succeeds". rseqmalloc's own operator new must
  // throw; the placeholder (libstdc++'s operators) is let off.
  bool strict_aligned_new_overflow = true;
};

struct DriverReport {
  long ops = 0;                       // operations executed
  long failures_expected = 0;         // calls that failed as they had to (overflow, bad alignment)
  std::vector<std::string> problems;  // each names the seed, the op index and the call
};

DriverReport RunEntryPointDriver(const DriverOptions& options);

}  // namespace reliability
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_RELIABILITY_ENTRY_POINT_DRIVER_H_

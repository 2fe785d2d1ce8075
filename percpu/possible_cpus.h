// Number of possible CPUs, which bounds both cpu_id and mm_cid.
#ifndef RSEQMALLOC_PERCPU_POSSIBLE_CPUS_H_
#define RSEQMALLOC_PERCPU_POSSIBLE_CPUS_H_

#include <stddef.h>
#include <stdint.h>

namespace rseqmalloc {
namespace percpu {

// Parses a kernel CPU list ("0-3,8,10-11") and returns highest CPU + 1, or 0 if malformed.
uint32_t ParseCpuListBound(const char* text, size_t len);

// Reads /sys/devices/system/cpu/possible with raw syscalls (no stdio, no malloc: this runs from
// inside malloc). Falls back to max(64, highest CPU in our affinity mask + 1); get_nprocs_conf()
// is avoided because glibc implements it with opendir(), which allocates.
uint32_t NumPossibleCpus();

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_POSSIBLE_CPUS_H_

// Writes a profile in the legacy heap-profile text format of gperftools, which Debian's
// google-pprof (package google-perftools) reads:
//
//   heap profile:   <count>: <bytes> [ <count>: <bytes>] @ heapprofile
//   <count>: <bytes> [<count>: <bytes>] @ 0x<pc> 0x<pc> ...      one line per call stack
//   MAPPED_LIBRARIES:
//   <the process's /proc/self/maps>
//
// The first pair of a line is what the profile shows (live, peak or window bytes), the bracketed
// pair every sample (growth: the window's). Counts are already scaled up from the samples, so the
// header names no sampling rate and pprof shows the numbers as they are. Never allocates.
#ifndef RSEQMALLOC_ALLOCATOR_PROFILE_PROFILE_WRITER_H_
#define RSEQMALLOC_ALLOCATOR_PROFILE_PROFILE_WRITER_H_

#include <stddef.h>

#include "allocator/profile/sample_table.h"

namespace rseqmalloc::profile {

// Writes to fd; false on a write error.
bool WriteProfile(SampleTable& table, ProfileKind kind, int fd);

// Writes into buf (NUL-terminated when size > 0) and returns the full length, like snprintf.
size_t FormatProfile(SampleTable& table, ProfileKind kind, char* buf, size_t size);

}  // namespace rseqmalloc::profile

#endif  // RSEQMALLOC_ALLOCATOR_PROFILE_PROFILE_WRITER_H_

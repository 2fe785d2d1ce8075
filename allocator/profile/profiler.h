// Heap profiling and guarded sampling as the rest of the allocator sees them: a handful of
// calls that heap.cc makes from its slow paths only.
//
// When either feature is on, it is switched on at start-up and the per-CPU front end stays off,
// so that every allocation and free takes the slow path, where the bytes are counted and
// samples taken. When both are off, nothing here runs and the hit path is untouched.
#ifndef RSEQMALLOC_ALLOCATOR_PROFILE_PROFILER_H_
#define RSEQMALLOC_ALLOCATOR_PROFILE_PROFILER_H_

#include <stddef.h>
#include <stdint.h>

#include "allocator/config.h"
#include "allocator/profile/guarded_pool.h"
#include "allocator/profile/sample_table.h"
#include "allocator/span.h"

namespace rseqmalloc::profile {

// True once Init switched sampling on; read by the slow paths.
extern bool g_sampling;

// Whether the configuration asks for sampling (profiling, a profile trigger, or guarding).
bool Wanted(const Config& config);

// In the allocator's initialisation, before the front end is chosen: reserves the tables and
// the guarded pool and turns sampling on. Returns whether it is on (the per-CPU front end must
// then stay off). Does not allocate.
bool Init(const Config& config);

// After initialisation, where allocating is allowed: the at-exit profile and the signal trigger.
void StartTriggers(const Config& config);

// Slow path of a small allocation (class known): counts the bytes; when this allocation is a
// sample, returns it (its own span, or a guarded slot), else nullptr.
void* SampleSmall(uint32_t size_class);

// After a large allocation: counts the bytes and, for a sample, marks the span and records it.
void OnLargeAllocated(Span* span, size_t size);

// Before a span marked `sampled` goes back to the page heap.
void OnSampledSpanFree(Span* span);

// free() of a pointer in the guarded pool (IsGuarded).
void FreeGuardedSample(void* ptr);

// The extension API's profile calls (allocator/rseqmalloc.h). kind: a ProfileKind value.
int WriteProfileTo(int kind, int fd);
size_t FormatProfileInto(int kind, char* buf, size_t size);
void StartGrowthWindow();

// For the statistics.
const SampleTable& Samples();

// The profile and guard locks, for the fork handlers.
void LockForFork();
void UnlockAfterFork();

}  // namespace rseqmalloc::profile

#endif  // RSEQMALLOC_ALLOCATOR_PROFILE_PROFILER_H_

#ifndef RSEQMALLOC_ALLOCATOR_CACHE_GROWTH_H_
#define RSEQMALLOC_ALLOCATOR_CACHE_GROWTH_H_

#include <cstddef>
#include <cstdint>

#include "allocator/size_classes.h"

namespace rseqmalloc {

// The largest batch any class moves; sizes the on-stack buffers of the slow paths.
inline constexpr size_t kMaxBatch = 64;

// Objects a cache of the class moves to or from the transfer cache at a time.
inline size_t BatchOf(uint32_t size_class) {
  const size_t batch = SizeMap::BatchSize(size_class);
  return batch < kMaxBatch ? batch : kMaxBatch;
}

// How far a front-end cache of one size class (a per-CPU stack, or a thread's free list) may
// grow after a miss that calls for growth: "slow start". Below one batch the capacity doubles,
// from kSlowStartCapacity objects; from a batch on it grows a batch at a time. A class a CPU or
// thread uses now and then so keeps a few objects, where granting a whole batch at the first
// miss kept 32 of them (64 KiB of 2 KiB objects per class and cache); a class allocated in a
// loop reaches a full batch after four extra misses. The callers decide when to grow and cap
// the result (allocator/cpu_cache.h, allocator/thread_cache.h).
inline constexpr size_t kSlowStartCapacity = 2;

inline constexpr size_t GrowthStep(size_t capacity, size_t batch) {
  if (capacity >= batch) return batch;
  const size_t step = capacity < kSlowStartCapacity ? kSlowStartCapacity : capacity;
  return capacity + step > batch ? batch - capacity : step;
}

// The objects a refill should fetch into a cache that has room for `room` more: the one the
// caller gets and what fits, at most a batch.
inline constexpr size_t RefillCount(size_t room, size_t batch) {
  return room + 1 < batch ? room + 1 : batch;
}

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_CACHE_GROWTH_H_

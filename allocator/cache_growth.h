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

// Objects of a size that, laid side by side from a cache-line boundary, end on one: 64 divided by
// the largest power of two (up to 64) that divides the size. 8 for the 8-byte class, 4 for 16
// and 48 bytes, 2 for 32 and 96, 1 for multiples of 64. Spans start on a page, and the central
// list carves a new span's objects in address order; while every cache takes them in multiples
// of this, two caches (two CPUs, or two threads) never get objects that share a cache line.
inline constexpr size_t kCacheLineBytes = 64;
inline constexpr size_t LineGroup(size_t object_size) {
  const size_t low_bit = object_size & (~object_size + 1);
  return low_bit == 0 || low_bit >= kCacheLineBytes ? 1 : kCacheLineBytes / low_bit;
}

// How far a front-end cache of one size class (a per-CPU stack, or a thread's free list) may
// grow after a miss that calls for growth: "slow start". Below one batch the capacity doubles,
// from SlowStartCapacity; from a batch on it grows a batch at a time. A class a CPU or thread
// uses now and then so keeps a few objects, where granting a whole batch at the first miss kept
// 32 of them (64 KiB of 2 KiB objects per class and cache); a class allocated in a loop reaches
// a full batch after four extra misses. The callers decide when to grow and cap the result
// (allocator/cpu_cache.h, allocator/thread_cache.h).
//
// The first grant is at least 2 objects, a line group, and kSlowStartBytes: slow start saves
// memory only where objects are big, and small classes keep their whole first batch (32 objects
// of 8 bytes are 256 bytes). That also keeps what a thread allocates twice in a row apart: the
// first object of a refill goes to the caller and the next comes off the top of the stack, the
// far end of the refill; from a refill of 8 objects of 8 bytes the two would share a cache line
// (cache_scratch, whose main thread hands such a pair to two workers, ran 2x slower).
inline constexpr size_t kSlowStartCapacity = 2;
inline constexpr size_t kSlowStartBytes = 256;

inline constexpr size_t SlowStartCapacity(size_t object_size, size_t group) {
  size_t start = kSlowStartCapacity > group ? kSlowStartCapacity : group;
  if (object_size != 0 && kSlowStartBytes / object_size > start) {
    start = kSlowStartBytes / object_size;
  }
  return start;
}

inline constexpr size_t GrowthStep(size_t capacity, size_t batch, size_t start) {
  if (capacity >= batch) return batch;
  const size_t step = capacity < start ? start - capacity : capacity;
  return capacity + step > batch ? batch - capacity : step;
}

// The objects a refill should fetch into a cache that has room for `room` more: the one the
// caller gets and what fits, at most a batch, and a multiple of the line group where that is at
// least one group (objects of the 8-byte class come 8, 16, then 32 at a time: whole lines). The
// first refills of slow start would otherwise hand 3 objects to one CPU and the next 3 to another
// on the same line: cache_thrash ran 4x slower.
inline constexpr size_t RefillCount(size_t room, size_t batch, size_t group) {
  size_t count = room + 1 < batch ? room + 1 : batch;
  if (count >= group) count -= count % group;
  return count;
}

// The class properties the functions above take, and the functions for a size class: what both
// front ends call.
inline size_t GroupOf(uint32_t size_class) { return LineGroup(SizeMap::ClassSize(size_class)); }
inline size_t SlowStartOf(uint32_t size_class) {
  return SlowStartCapacity(SizeMap::ClassSize(size_class), GroupOf(size_class));
}
inline size_t ClassGrowthStep(size_t capacity, uint32_t size_class) {
  return GrowthStep(capacity, BatchOf(size_class), SlowStartOf(size_class));
}
inline size_t ClassRefillCount(size_t room, uint32_t size_class) {
  return RefillCount(room, BatchOf(size_class), GroupOf(size_class));
}

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_CACHE_GROWTH_H_

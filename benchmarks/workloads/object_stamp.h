// Stamps written into allocated objects and checked before they are freed: the way a workload
// notices an allocator that hands out memory still in use or scribbles over live objects.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_OBJECT_STAMP_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_OBJECT_STAMP_H_

#include <cstddef>
#include <cstdint>

namespace rseqmalloc {
namespace bench {

// Writes tag-derived words at the start and end of an object and every kStampStride bytes in
// between: cheap for big objects yet touching every page, and any overlap with another live
// object or any scribble by the allocator over its own free lists shows up when checked.
constexpr size_t kStampStride = 1024;
void StampObject(void* object, size_t size, uint64_t tag);
bool StampIntact(const void* object, size_t size, uint64_t tag);

// A live allocation of a workload and the tag its stamp was made from.
struct StampedObject {
  void* memory = nullptr;
  size_t size = 0;
  uint64_t tag = 0;
};

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_OBJECT_STAMP_H_

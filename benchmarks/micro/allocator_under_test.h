// The two allocators a microbenchmark binary compares in one run: rseqmalloc through its prefixed
// API and the system malloc (glibc) through the standard names. Benchmarks are templates over
// these so that both run the same code, next to each other, on the same machine state.
#ifndef RSEQMALLOC_BENCHMARKS_MICRO_ALLOCATOR_UNDER_TEST_H_
#define RSEQMALLOC_BENCHMARKS_MICRO_ALLOCATOR_UNDER_TEST_H_

#include <cstddef>
#include <cstdlib>
#include <new>

#include "allocator/rseqmalloc.h"

namespace rseqmalloc {
namespace bench {

struct RseqMalloc {
  static void* Malloc(size_t size) { return rseqmalloc_malloc(size); }
  static void Free(void* ptr) { rseqmalloc_free(ptr); }
  static void* Realloc(void* ptr, size_t size) { return rseqmalloc_realloc(ptr, size); }
  static void* AlignedAlloc(size_t alignment, size_t size) {
    return rseqmalloc_aligned_alloc(alignment, size);
  }
  // What `new T` and sized `delete` become when rseqmalloc is the program's allocator.
  static void* New(size_t size) { return rseqmalloc_malloc(size); }
  static void SizedDelete(void* ptr, size_t size) { rseqmalloc_free_sized(ptr, size); }
};

struct SystemMalloc {
  static void* Malloc(size_t size) { return std::malloc(size); }
  static void Free(void* ptr) { std::free(ptr); }
  static void* Realloc(void* ptr, size_t size) { return std::realloc(ptr, size); }
  static void* AlignedAlloc(size_t alignment, size_t size) {
    return std::aligned_alloc(alignment, size);
  }
  static void* New(size_t size) { return ::operator new(size); }
  static void SizedDelete(void* ptr, size_t size) { ::operator delete(ptr, size); }
};

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_MICRO_ALLOCATOR_UNDER_TEST_H_

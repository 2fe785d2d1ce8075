// The allocator behind rseqmalloc_* names, next to (not instead of) the program's malloc.
#include "allocator/c_api.h"
#include "allocator/rseqmalloc.h"

using namespace rseqmalloc::c_api;

extern "C" {

void* rseqmalloc_malloc(size_t size) { return Malloc(size); }
void rseqmalloc_free(void* ptr) { Free(ptr); }
void rseqmalloc_free_sized(void* ptr, size_t size) { FreeSized(ptr, size); }
void* rseqmalloc_calloc(size_t count, size_t size) { return Calloc(count, size); }
void* rseqmalloc_realloc(void* ptr, size_t size) { return Realloc(ptr, size); }
void* rseqmalloc_aligned_alloc(size_t alignment, size_t size) {
  return AlignedAlloc(alignment, size);
}
size_t rseqmalloc_usable_size(const void* ptr) { return rseqmalloc::UsableSize(ptr); }

}  // extern "C"

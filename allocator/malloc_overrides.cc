// Replaces the C allocation functions of the program (and glibc's __libc_* entry points, which
// some programs and libraries call directly) with rseqmalloc. Linked into //allocator:malloc and
// librseqmalloc.so only; each definition is a call into c_api.h.
#include <malloc.h>

#include "allocator/c_api.h"

using namespace rseqmalloc::c_api;

#define RSEQMALLOC_EXPORT extern "C" __attribute__((visibility("default")))

RSEQMALLOC_EXPORT void* malloc(size_t size) { return Malloc(size); }
RSEQMALLOC_EXPORT void free(void* ptr) { Free(ptr); }
RSEQMALLOC_EXPORT void cfree(void* ptr) { Free(ptr); }
RSEQMALLOC_EXPORT void* calloc(size_t count, size_t size) { return Calloc(count, size); }
RSEQMALLOC_EXPORT void* realloc(void* ptr, size_t size) { return Realloc(ptr, size); }
RSEQMALLOC_EXPORT void* reallocarray(void* ptr, size_t count, size_t size) {
  return ReallocArray(ptr, count, size);
}
RSEQMALLOC_EXPORT void* memalign(size_t alignment, size_t size) {
  return Memalign(alignment, size);
}
RSEQMALLOC_EXPORT void* aligned_alloc(size_t alignment, size_t size) {
  return AlignedAlloc(alignment, size);
}
RSEQMALLOC_EXPORT int posix_memalign(void** out, size_t alignment, size_t size) {
  return PosixMemalign(out, alignment, size);
}
RSEQMALLOC_EXPORT void* valloc(size_t size) { return Valloc(size); }
RSEQMALLOC_EXPORT void* pvalloc(size_t size) { return Pvalloc(size); }
RSEQMALLOC_EXPORT size_t malloc_usable_size(void* ptr) { return MallocUsableSize(ptr); }
RSEQMALLOC_EXPORT void free_sized(void* ptr, size_t size) { FreeSized(ptr, size); }
RSEQMALLOC_EXPORT void free_aligned_sized(void* ptr, size_t alignment, size_t size) {
  FreeAlignedSized(ptr, alignment, size);
}

RSEQMALLOC_EXPORT void* __libc_malloc(size_t size) { return Malloc(size); }
RSEQMALLOC_EXPORT void __libc_free(void* ptr) { Free(ptr); }
RSEQMALLOC_EXPORT void* __libc_calloc(size_t count, size_t size) { return Calloc(count, size); }
RSEQMALLOC_EXPORT void* __libc_realloc(void* ptr, size_t size) { return Realloc(ptr, size); }
RSEQMALLOC_EXPORT void* __libc_memalign(size_t alignment, size_t size) {
  return Memalign(alignment, size);
}
RSEQMALLOC_EXPORT void* __libc_valloc(size_t size) { return Valloc(size); }
RSEQMALLOC_EXPORT void* __libc_pvalloc(size_t size) { return Pvalloc(size); }
RSEQMALLOC_EXPORT int __posix_memalign(void** out, size_t alignment, size_t size) {
  return PosixMemalign(out, alignment, size);
}

// TEMPORARY: forwards to glibc so that the user-facing targets exist while the allocator is
// written. Replaced by the real allocator in the allocator issue.
#include <errno.h>
#include <malloc.h>
#include <string.h>

#include "allocator/rseqmalloc.h"

extern "C" {
void* __libc_malloc(size_t);
void __libc_free(void*);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);

void* rseqmalloc_malloc(size_t size) { return __libc_malloc(size); }
void rseqmalloc_free(void* ptr) { __libc_free(ptr); }
void rseqmalloc_free_sized(void* ptr, size_t) { __libc_free(ptr); }
void* rseqmalloc_calloc(size_t n, size_t size) { return __libc_calloc(n, size); }
void* rseqmalloc_realloc(void* ptr, size_t size) { return __libc_realloc(ptr, size); }
void* rseqmalloc_aligned_alloc(size_t a, size_t size) { return __libc_memalign(a, size); }
size_t rseqmalloc_usable_size(const void* ptr) { return malloc_usable_size(const_cast<void*>(ptr)); }
size_t rseqmalloc_rseq_status(char* buf, size_t size) {
  const char* line = "rseq: placeholder (glibc malloc)";
  if (size > 0) { strncpy(buf, line, size - 1); buf[size - 1] = 0; }
  return strlen(line);
}
int rseqmalloc_get_stat(const char*, uint64_t*) { return -1; }
}

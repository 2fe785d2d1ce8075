// TEMPORARY: see placeholder.cc.
#include "allocator/rseqmalloc.h"

extern "C" {
__attribute__((visibility("default"))) void* malloc(size_t s) { return rseqmalloc_malloc(s); }
__attribute__((visibility("default"))) void free(void* p) { rseqmalloc_free(p); }
__attribute__((visibility("default"))) void* calloc(size_t n, size_t s) { return rseqmalloc_calloc(n, s); }
__attribute__((visibility("default"))) void* realloc(void* p, size_t s) { return rseqmalloc_realloc(p, s); }
}

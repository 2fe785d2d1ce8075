/* rseqmalloc's extension API, usable from C and C++.
 *
 * The prefixed entry points reach the allocator without it replacing malloc, so that a program
 * (a benchmark, a test) can call rseqmalloc and the system malloc side by side. */
#ifndef RSEQMALLOC_ALLOCATOR_RSEQMALLOC_H_
#define RSEQMALLOC_ALLOCATOR_RSEQMALLOC_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void* rseqmalloc_malloc(size_t size);
void rseqmalloc_free(void* ptr);
void rseqmalloc_free_sized(void* ptr, size_t size);
void* rseqmalloc_calloc(size_t count, size_t size);
void* rseqmalloc_realloc(void* ptr, size_t size);
void* rseqmalloc_aligned_alloc(size_t alignment, size_t size);
size_t rseqmalloc_usable_size(const void* ptr);

/* Writes the one-line description of the rseq mode (owner, registered length, optimized or
 * legacy, slot key, slots, slice extension) into buf, always NUL-terminated when size > 0.
 * Returns the length of the full line, like snprintf. Does not allocate. */
size_t rseqmalloc_rseq_status(char* buf, size_t size);

/* Reads a statistic by name (see docs/statistics.md). Returns 0 and sets *value, or -1 when the
 * name is unknown. Does not allocate. */
int rseqmalloc_get_stat(const char* name, uint64_t* value);

#ifdef __cplusplus
}
#endif

#endif /* RSEQMALLOC_ALLOCATOR_RSEQMALLOC_H_ */

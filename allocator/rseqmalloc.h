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

/* Writes every statistic as "name value" lines (see docs/statistics.md) into buf, always
 * NUL-terminated when size > 0. Returns the full length, like snprintf. Does not allocate. */
size_t rseqmalloc_stats_text(char* buf, size_t size);

/* Empties the per-CPU and transfer caches and returns free memory to the operating system, up to
 * `bytes` (0: all of it), whole 2 MiB hugepages first. Returns the bytes released. */
size_t rseqmalloc_release_memory(size_t bytes);

/* The per-slot (per CPU or per mm_cid) cache budget in bytes. Lowering it takes effect as the
 * caches refill; rseqmalloc_release_memory(0) empties them at once. */
size_t rseqmalloc_get_cpu_cache_budget(void);
void rseqmalloc_set_cpu_cache_budget(size_t bytes);

/* Empties the cache of the slot the calling thread runs on. */
void rseqmalloc_flush_cpu_cache(void);

/* Turns the release of idle memory by decay on (1) or off (0); returns the previous setting. */
int rseqmalloc_set_background_release(int on);

/* Starts a thread that runs the decay even while the program makes no allocation at all (by
 * default the allocation slow path runs it). Returns 1 if the thread runs. Call it from ordinary
 * program code: never from a signal handler or from code running inside malloc/free. */
int rseqmalloc_start_release_thread(void);

/* Heap profiles (docs/profiling.md), in the heap-profile format google-pprof reads. They exist
 * only when sampling was turned on at start-up (RSEQMALLOC_PROFILE=1, or another
 * RSEQMALLOC_PROFILE_* trigger, or RSEQMALLOC_GUARD=1). Kinds: */
#define RSEQMALLOC_PROFILE_LIVE 0   /* sampled objects not yet freed */
#define RSEQMALLOC_PROFILE_PEAK 1   /* the live profile at the largest live heap so far */
#define RSEQMALLOC_PROFILE_GROWTH 2 /* every sampled allocation since the window started */

/* Writes a profile of `kind` to fd. Returns 0, or -1 when sampling is off, the kind is unknown
 * or a write failed. Does not allocate. */
int rseqmalloc_profile_write(int kind, int fd);

/* Writes a profile of `kind` into buf (NUL-terminated when size > 0) and returns its full length,
 * like snprintf; 0 when sampling is off. Does not allocate. */
size_t rseqmalloc_profile_format(int kind, char* buf, size_t size);

/* Starts a new growth window: the growth profile counts allocations from now on. */
void rseqmalloc_profile_start_window(void);

#ifdef __cplusplus
}
#endif

#endif /* RSEQMALLOC_ALLOCATOR_RSEQMALLOC_H_ */

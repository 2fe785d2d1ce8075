/* Proves at run time that rseqmalloc is this program's malloc: its status call answers, the size
 * malloc_usable_size reports for a block is rseqmalloc's (not the request, not glibc's
 * rounding), and a large malloc grows rseqmalloc's page heap. Prints one line per proof; exits 1
 * on the first that fails. Each consumer project of tests/suites/cmake_build.sh builds it. */
#include <malloc.h>
#include <rseqmalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char* what) {
  fprintf(stderr, "proof: FAIL: %s\n", what);
  return 1;
}

int main(void) {
  char status[256];
  if (rseqmalloc_rseq_status(status, sizeof status) == 0 ||
      strncmp(status, "rseq: owner=", 12) != 0)
    return fail("rseqmalloc_rseq_status gave no status line");
  printf("status: %s\n", status);

  /* 1025 bytes: rseqmalloc rounds to its 1152-byte class, glibc would report 1032. */
  char* block = malloc(1025);
  if (block == NULL) return fail("malloc(1025) returned NULL");
  memset(block, 7, 1025);
  size_t usable = malloc_usable_size(block);
  size_t ours = rseqmalloc_usable_size(block);
  printf("usable: malloc_usable_size=%zu rseqmalloc_usable_size=%zu\n", usable, ours);
  if (usable != ours) return fail("malloc_usable_size is not rseqmalloc's");
  if (usable <= 1025 || usable == 1032) return fail("usable size is not a rseqmalloc size class");
  free(block);

  uint64_t before = 0, after = 0;
  if (rseqmalloc_get_stat("page_heap.in_use_bytes", &before) != 0)
    return fail("no page_heap.in_use_bytes statistic");
  size_t big = (size_t)3 << 20;
  char* large = malloc(big);
  if (large == NULL) return fail("malloc(3 MiB) returned NULL");
  memset(large, 1, big);
  rseqmalloc_get_stat("page_heap.in_use_bytes", &after);
  printf("page heap: %llu -> %llu bytes in use\n", (unsigned long long)before,
         (unsigned long long)after);
  if (after < before + big) return fail("malloc(3 MiB) did not come from rseqmalloc's page heap");
  free(large);
  puts("proof: rseqmalloc is malloc");
  return 0;
}

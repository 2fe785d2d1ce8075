#!/usr/bin/env bash
# librseqmalloc.a, linked into a C program by plain gcc as another build system would, makes
# rseqmalloc the program's malloc: the program links, runs, and finds the real allocator.
set -euo pipefail
archive="$1"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/main.c" <<'PROGRAM'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
size_t rseqmalloc_rseq_status(char* buf, size_t size);
int rseqmalloc_get_stat(const char* name, unsigned long* value);
int main(void) {
  char line[256];
  rseqmalloc_rseq_status(line, sizeof line);
  unsigned long before = 0, after = 0;
  rseqmalloc_get_stat("page_heap.in_use_bytes", &before);
  char* p = malloc(3 << 20);
  memset(p, 1, 3 << 20);
  rseqmalloc_get_stat("page_heap.in_use_bytes", &after);
  printf("%s\n%s %d\n", line, after >= before + (3 << 20) ? "heap-grew" : "heap-did-not-grow", p[12345]);
  free(p);
  return 0;
}
PROGRAM
gcc -O2 "$dir/main.c" -Wl,--whole-archive "$archive" -Wl,--no-whole-archive -lstdc++ -lpthread \
  -o "$dir/prog"
out=$("$dir/prog")
echo "$out"
grep -q '^rseq: owner=' <<<"$out"
grep -qx 'heap-grew 1' <<<"$out"

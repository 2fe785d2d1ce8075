// Writes three statistics dumps (after allocating, after freeing, after releasing) into the
// directory given as argument, for the memory picture test.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <string>
#include <vector>

#include "allocator/rseqmalloc.h"

static void Dump(const std::string& path) {
  static char text[1 << 16];
  rseqmalloc_stats_text(text, sizeof(text));
  FILE* f = fopen(path.c_str(), "w");
  if (f == nullptr || fputs(text, f) < 0 || fclose(f) != 0) exit(1);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  std::vector<void*> blocks;
  for (int i = 0; i < 20000; ++i) {
    blocks.push_back(malloc(2000));
    memset(blocks.back(), 1, 2000);
  }
  Dump(dir + "/1-allocated.txt");
  for (void* b : blocks) free(b);
  Dump(dir + "/2-freed.txt");
  rseqmalloc_release_memory(0);
  Dump(dir + "/3-released.txt");
  return 0;
}

// Heap bugs for guard_report_test.sh, run with every allocation sampled and guarded:
//   guard_bugs use_after_free | overflow | double_free   commits that bug on a 64-byte object
//   guard_bugs clean                                      exercises the API on guarded objects
// The functions are extern "C" and the binary is linked with -rdynamic so that the report,
// which names frames with dladdr, can name them.
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allocator/rseqmalloc.h"

extern "C" {

__attribute__((noinline)) char* AllocateVictim() {
  char* p = static_cast<char*>(malloc(64));
  asm volatile("" ::"r"(p) : "memory");  // keeps the call from being a tail call
  return p;
}

__attribute__((noinline)) void FreeVictim(char* p) {
  free(p);
  asm volatile("" ::: "memory");
}

__attribute__((noinline)) void TouchVictim(char* p, size_t offset) {
  static_cast<volatile char*>(p)[offset] = 1;
}

}  // extern "C"

namespace {

int Fail(const char* what) {
  fprintf(stderr, "guard_bugs clean: %s\n", what);
  return 1;
}

// Every C allocation function, on guarded objects, for longer than the pool has slots.
int Clean() {
  for (int round = 0; round < 200; ++round) {
    const size_t size = 1 + static_cast<size_t>(round) * 37 % 5000;
    char* p = static_cast<char*>(malloc(size));
    if (p == nullptr) return Fail("malloc");
    memset(p, 0x5A, size);
    if (malloc_usable_size(p) < size) return Fail("usable size");
    char* q = static_cast<char*>(realloc(p, size * 2 + 1));
    if (q == nullptr || q[size - 1] != 0x5A) return Fail("realloc lost the contents");
    free(q);
    char* z = static_cast<char*>(calloc(size, 1));
    for (size_t i = 0; i < size; ++i) {
      if (z[i] != 0) return Fail("calloc not zeroed");
    }
    free(z);
    void* a = aligned_alloc(64, 128);
    if (a == nullptr || reinterpret_cast<uintptr_t>(a) % 64 != 0) return Fail("aligned_alloc");
    free(a);
    char* s = new char[48];
    delete[] s;
  }
  uint64_t guarded = 0;
  rseqmalloc_get_stat("guard.allocations", &guarded);
  if (guarded < 200) return Fail("objects were not guarded");
  printf("clean: %lu guarded allocations\n", static_cast<unsigned long>(guarded));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  setvbuf(stdout, nullptr, _IONBF, 0);
  if (!strcmp(argv[1], "clean")) return Clean();
  char* p = AllocateVictim();
  if (!strcmp(argv[1], "use_after_free")) {
    FreeVictim(p);
    TouchVictim(p, 8);
  } else if (!strcmp(argv[1], "overflow")) {
    TouchVictim(p, 64);
  } else if (!strcmp(argv[1], "double_free")) {
    FreeVictim(p);
    FreeVictim(p);
  } else {
    return 2;
  }
  printf("the bug went unnoticed\n");
  return 0;
}

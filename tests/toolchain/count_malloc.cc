// A malloc shim for the toolchain test: counts calls and forwards to glibc's allocator.
#include <cstddef>

extern "C" {
void* __libc_malloc(size_t size);

static unsigned long g_malloc_calls = 0;

__attribute__((visibility("default"))) void* malloc(size_t size) {
  __atomic_fetch_add(&g_malloc_calls, 1, __ATOMIC_RELAXED);
  return __libc_malloc(size);
}

__attribute__((visibility("default"))) unsigned long count_malloc_calls() {
  return __atomic_load_n(&g_malloc_calls, __ATOMIC_RELAXED);
}
}

// Allocates a known number of blocks, then prints how many malloc calls the preloaded shim saw,
// or -1 when no shim is loaded.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

int main() {
  constexpr int kBlocks = 1000;
  static void* blocks[kBlocks];
  for (int i = 0; i < kBlocks; ++i) blocks[i] = std::malloc(16 + i);
  for (int i = 0; i < kBlocks; ++i) std::free(blocks[i]);
  using Counter = unsigned long (*)();
  auto counter = reinterpret_cast<Counter>(dlsym(RTLD_DEFAULT, "count_malloc_calls"));
  std::printf("%ld\n", counter ? static_cast<long>(counter()) : -1L);
  return 0;
}

// Prints rseqmalloc's one-line rseq status, found with dlsym so that this program links against no
// allocator: run it with LD_PRELOAD=librseqmalloc.so (and the environment of the mode to report).
// Prints "rseq: unavailable (...)" and exits 1 when no preloaded library provides the function.
#include <dlfcn.h>

#include <cstddef>
#include <cstdio>

int main() {
  using StatusFunction = size_t (*)(char*, size_t);
  auto status = reinterpret_cast<StatusFunction>(dlsym(RTLD_DEFAULT, "rseqmalloc_rseq_status"));
  if (status == nullptr) {
    std::printf("rseq: unavailable (rseqmalloc_rseq_status not found; is librseqmalloc.so preloaded?)\n");
    return 1;
  }
  char line[512];
  size_t length = status(line, sizeof line);
  std::printf("%s%s\n", line, length >= sizeof line ? "..." : "");
  return 0;
}

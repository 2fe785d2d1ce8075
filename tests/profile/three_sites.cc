// Allocates a known number of bytes from three call sites and writes heap profiles with the
// extension API, for profile_shares_test.sh to read back with google-pprof:
//   phase 1: AllocateSmallA 100 MiB (64-byte objects), AllocateMediumB 60 MiB (1 KiB objects),
//            AllocateLargeC 40 MiB (512 KiB objects, the page heap's path): 50 / 30 / 20 %;
//   then C's objects are freed and <out>.live.heap (A 62.5 %, B 37.5 %) and <out>.peak.heap
//   (50 / 30 / 20 %) are written; then a new growth window sees AllocateGrowthD 20 MiB and
//   <out>.growth.heap is written (D 100 %).
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "allocator/rseqmalloc.h"

namespace {

constexpr size_t kMiB = size_t{1} << 20;

// noinline keeps each site a frame of its own, as in a real program.
__attribute__((noinline)) void AllocateSmallA(std::vector<void*>* keep) {
  for (size_t i = 0; i < 100 * kMiB / 64; ++i) keep->push_back(malloc(64));
}

__attribute__((noinline)) void AllocateMediumB(std::vector<void*>* keep) {
  for (size_t i = 0; i < 60 * kMiB / 1024; ++i) keep->push_back(malloc(1024));
}

__attribute__((noinline)) void AllocateLargeC(std::vector<void*>* keep) {
  for (size_t i = 0; i < 40 * kMiB / (512 * 1024); ++i) keep->push_back(malloc(512 * 1024));
}

__attribute__((noinline)) void AllocateGrowthD(std::vector<void*>* keep) {
  for (size_t i = 0; i < 20 * kMiB / 256; ++i) keep->push_back(malloc(256));
}

void Write(int kind, const std::string& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || rseqmalloc_profile_write(kind, fd) != 0) {
    fprintf(stderr, "cannot write %s (is sampling on?)\n", path.c_str());
    exit(1);
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <profile path prefix>\n", argv[0]);
    return 2;
  }
  const std::string out = argv[1];
  std::vector<void*> a, b, c, d;
  a.reserve(100 * kMiB / 64);  // reserved up front: the vectors' own growth is not a site
  b.reserve(60 * kMiB / 1024);
  c.reserve(100);
  d.reserve(20 * kMiB / 256);
  AllocateSmallA(&a);
  AllocateMediumB(&b);
  AllocateLargeC(&c);
  for (void* p : c) free(p);
  Write(RSEQMALLOC_PROFILE_LIVE, out + ".live.heap");
  Write(RSEQMALLOC_PROFILE_PEAK, out + ".peak.heap");
  rseqmalloc_profile_start_window();
  AllocateGrowthD(&d);
  Write(RSEQMALLOC_PROFILE_GROWTH, out + ".growth.heap");
  // The buffer form gives the same format.
  char head[64];
  rseqmalloc_profile_format(RSEQMALLOC_PROFILE_LIVE, head, sizeof(head));
  if (strncmp(head, "heap profile:", 13) != 0) {
    fprintf(stderr, "rseqmalloc_profile_format gave '%s'\n", head);
    return 1;
  }
  uint64_t samples = 0;
  rseqmalloc_get_stat("profile.samples", &samples);
  printf("samples %lu\n", static_cast<unsigned long>(samples));
  for (void* p : a) free(p);
  for (void* p : b) free(p);
  for (void* p : d) free(p);
  return 0;
}

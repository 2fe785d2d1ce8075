// How much of a range is resident, for tests that check what the allocator leaves untouched.
#ifndef RSEQMALLOC_TESTS_ALLOCATOR_RESIDENT_PAGES_H_
#define RSEQMALLOC_TESTS_ALLOCATOR_RESIDENT_PAGES_H_

#include <stddef.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

namespace rseqmalloc {
namespace testing {

// Resident kernel pages in [p, p + bytes) (p page-aligned), or -1 when mincore is not available.
// A read of an absent page maps the zero page, which counts: measure before reading back.
inline long ResidentPages(const void* p, size_t bytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((bytes + page - 1) / page);
  if (mincore(const_cast<void*>(p), bytes, vec.data()) != 0) return -1;
  long n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n;
}

}  // namespace testing
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_ALLOCATOR_RESIDENT_PAGES_H_

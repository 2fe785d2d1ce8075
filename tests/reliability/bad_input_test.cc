// Bad input to the entry points: a seeded random driver over all of them (entry_point_driver.h),
// and the documented outcomes one by one, so that a failure names the exact rule broken.
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>

#include <new>
#include <set>

#include "gtest/gtest.h"
#include "tests/reliability/entry_point_driver.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

void* volatile g_sink;

// Sizes and pointers pass through a volatile so that the compiler cannot reason about the calls
// (it knows that malloc(SIZE_MAX) is dubious and warns, and could fold what the test must run).
size_t Opaque(size_t value) {
  volatile size_t copy = value;
  return copy;
}
void* Opaque(void* value) {
  void* volatile copy = value;
  return copy;
}

TEST(BadInput, RandomSequencesOverEveryEntryPoint) {
  // RSEQMALLOC_FUZZ_SEED replays one seed; RSEQMALLOC_FUZZ_OPS and _SECONDS bound the run.
  const long fixed_seed = EnvLong("RSEQMALLOC_FUZZ_SEED", 0);
  const long ops = EnvLong("RSEQMALLOC_FUZZ_OPS", 40000);
  const long seconds = EnvLong("RSEQMALLOC_FUZZ_SECONDS", 2);
  std::vector<uint64_t> seeds = {20261121, 7, 0xdeadbeef};
  if (fixed_seed != 0) seeds = {static_cast<uint64_t>(fixed_seed)};
  for (uint64_t seed : seeds) {
    DriverOptions options;
    options.seed = seed;
    options.max_ops = ops;
    options.max_seconds = static_cast<double>(seconds);
    options.strict_aligned_alloc = !AllocatorIsPlaceholder();
    options.strict_aligned_new_overflow = !AllocatorIsPlaceholder();
    DriverReport report = RunEntryPointDriver(options);
    printf("seed %llu: %ld operations, %ld expected failures, %zu problems\n",
           static_cast<unsigned long long>(seed), report.ops, report.failures_expected,
           report.problems.size());
    EXPECT_GT(report.ops, 1000) << "the driver hardly ran";
    EXPECT_GT(report.failures_expected, 10) << "the driver did not reach the bad inputs";
    for (const std::string& problem : report.problems) ADD_FAILURE() << problem;
    if (!report.problems.empty()) {
      ADD_FAILURE() << "replay with RSEQMALLOC_FUZZ_SEED=" << seed
                    << " RSEQMALLOC_FUZZ_OPS=" << report.ops;
    }
  }
}

TEST(BadInput, OverflowingSizesGiveEnomem) {
  errno = 0;
  EXPECT_EQ(malloc(Opaque(SIZE_MAX)), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "malloc(SIZE_MAX)";
  errno = 0;
  EXPECT_EQ(malloc(Opaque(size_t{PTRDIFF_MAX} + 1)), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "malloc(PTRDIFF_MAX + 1)";
  errno = 0;
  EXPECT_EQ(calloc(Opaque(SIZE_MAX / 2), 3), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "calloc whose product overflows";
  errno = 0;
  EXPECT_EQ(calloc(Opaque(size_t{1} << 32), size_t{1} << 32), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "calloc(2^32, 2^32)";

  void* p = malloc(100);
  ASSERT_NE(p, nullptr);
  FillPattern(p, 100, 1);
  errno = 0;
  EXPECT_EQ(realloc(Opaque(p), Opaque(SIZE_MAX - 8)), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "realloc to SIZE_MAX - 8";
  errno = 0;
  EXPECT_EQ(reallocarray(Opaque(p), Opaque(SIZE_MAX / 4), 8), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "reallocarray whose product overflows";
  EXPECT_EQ(CheckPattern(Opaque(p), 100, 1), 100u) << "a failed realloc must leave the block alone";
  free(Opaque(p));

  errno = 0;
  EXPECT_EQ(valloc(Opaque(SIZE_MAX - 100)), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "valloc";
  errno = 0;
  EXPECT_EQ(pvalloc(Opaque(SIZE_MAX - 100)), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "pvalloc (rounding up to a page must not wrap)";
  errno = 0;
  EXPECT_EQ(memalign(64, Opaque(SIZE_MAX - 10)), nullptr);
  EXPECT_EQ(errno, ENOMEM) << "memalign";
  void* q = nullptr;
  EXPECT_EQ(posix_memalign(&q, 64, Opaque(SIZE_MAX - 10)), ENOMEM);
  EXPECT_THROW(g_sink = ::operator new(Opaque(SIZE_MAX)), std::bad_alloc);
  if (!AllocatorIsPlaceholder()) {
    // libstdc++ 12 rounds this size up to the alignment, wraps to 0 and succeeds; ours must not.
    EXPECT_THROW(g_sink = ::operator new[](Opaque(SIZE_MAX - 1), std::align_val_t{64}),
                 std::bad_alloc);
  }
  EXPECT_EQ(::operator new(Opaque(SIZE_MAX), std::nothrow), nullptr);
}

TEST(BadInput, BadAlignmentGivesEinval) {
  void* p = reinterpret_cast<void*>(0x1);  // must stay untouched on failure
  EXPECT_EQ(posix_memalign(&p, 0, 16), EINVAL);
  EXPECT_EQ(posix_memalign(&p, 3, 16), EINVAL);
  EXPECT_EQ(posix_memalign(&p, 24, 16), EINVAL);
  EXPECT_EQ(posix_memalign(&p, sizeof(void*) / 2, 16), EINVAL) << "not a multiple of sizeof(void*)";
  EXPECT_EQ(p, reinterpret_cast<void*>(0x1));
  errno = 0;
  EXPECT_EQ(memalign(Opaque(SIZE_MAX), 16), nullptr);
  EXPECT_EQ(errno, EINVAL) << "memalign with an alignment above SIZE_MAX/2+1";
  if (AllocatorIsPlaceholder()) {
    GTEST_SKIP() << "glibc 2.36 aligned_alloc accepts any alignment (2.38 and rseqmalloc do not)";
  }
  for (size_t bad : {size_t{0}, size_t{3}, size_t{24}, size_t{100}, SIZE_MAX}) {
    errno = 0;
    EXPECT_EQ(aligned_alloc(bad, 64), nullptr) << "aligned_alloc(" << bad << ", 64)";
    EXPECT_EQ(errno, EINVAL) << "aligned_alloc(" << bad << ", 64)";
  }
}

TEST(BadInput, ZeroSizesGiveDistinctFreeablePointers) {
  std::set<void*> seen;
  for (int i = 0; i < 100; ++i) {
    void* p = malloc(0);
    ASSERT_NE(p, nullptr) << "malloc(0) must return a unique pointer, as glibc does";
    EXPECT_TRUE(seen.insert(p).second) << "malloc(0) returned a live pointer twice";
  }
  for (void* p : seen) free(p);
  void* c = calloc(0, 10);
  EXPECT_NE(c, nullptr);
  free(c);
  void* n = ::operator new(0);
  EXPECT_NE(n, nullptr);
  ::operator delete(n);
  void* pv = pvalloc(0);
  ASSERT_NE(pv, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pv) % 4096, 0u);
  free(pv);
  pv = pvalloc(1);
  ASSERT_NE(pv, nullptr);
  EXPECT_GE(malloc_usable_size(pv), 4096u) << "pvalloc rounds up to a whole page";
  free(pv);
  free(nullptr);  // a no-op
  EXPECT_EQ(malloc_usable_size(nullptr), 0u);
}

TEST(BadInput, AlignmentAndUsableSizeHoldAcrossSizes) {
  for (size_t alignment = 1; alignment <= (size_t{1} << 21); alignment <<= 1) {
    for (size_t size : {size_t{1}, size_t{15}, size_t{4096}, size_t{100000}, size_t{3} << 20}) {
      void* p = aligned_alloc(alignment, size);
      ASSERT_NE(p, nullptr) << alignment << " " << size;
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u) << alignment << " " << size;
      EXPECT_GE(malloc_usable_size(p), size);
      FillPattern(p, malloc_usable_size(p), alignment ^ size);
      EXPECT_EQ(CheckPattern(p, malloc_usable_size(p), alignment ^ size), malloc_usable_size(p));
      free(p);
    }
  }
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

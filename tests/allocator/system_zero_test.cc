// SystemZero: calloc's clear of a reused large block. Every byte must read zero afterwards,
// nothing outside the range may change, and pieces the program never touched must not become
// resident (the reason it exists: see system_allocator.h).
#include <errno.h>
#include <stdint.h>
#include <string.h>


#include "allocator/system_allocator.h"
#include "gtest/gtest.h"
#include "tests/allocator/resident_pages.h"

namespace rseqmalloc {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

size_t FirstNonZero(const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != 0) return i;
  }
  return n;
}

using rseqmalloc::testing::ResidentPages;

// A fresh 2 MiB-aligned mapping: SystemAlloc's, so absent until touched.
unsigned char* Map(size_t bytes) {
  return static_cast<unsigned char*>(SystemAlloc(bytes, kZeroPieceBytes));
}

// Pieces written in full, pieces with one byte written, and never touched ones, over three
// mincore windows, with ends that are not page aligned.
TEST(SystemZero, ClearsEveryByteOfTheRangeAndNothingElse) {
  const size_t bytes = 40 * kMiB;
  unsigned char* base = Map(bytes);
  ASSERT_NE(base, nullptr);
  const size_t pieces = bytes / kZeroPieceBytes;
  for (size_t i = 0; i < pieces; ++i) {
    unsigned char* piece = base + i * kZeroPieceBytes;
    switch (i % 3) {
      case 0: memset(piece, 0x5a, kZeroPieceBytes); break;
      case 1: piece[kZeroPieceBytes / 2 + 1] = 0x5b; break;
      default: break;  // never touched
    }
  }
  base[100 - 1] = 0x11;                 // the byte before the range
  base[bytes - 77] = 0x22;              // the byte after it
  const size_t begin = 100;
  const size_t end = bytes - 77;
  errno = 4321;
  SystemZero(base + begin, end - begin);
  EXPECT_EQ(errno, 4321);
  EXPECT_EQ(FirstNonZero(base + begin, end - begin), end - begin);
  EXPECT_EQ(base[begin - 1], 0x11);
  EXPECT_EQ(base[end], 0x22);
  EXPECT_EQ(base[0], 0x5a);  // piece 0 was written in full; the range starts after byte 99
  SystemUnmap(base, bytes);
}

// The point of it: a piece the program touched once stays (almost) absent, while a piece it
// used in full is cleared in place and stays resident (no refaults for a dense user).
TEST(SystemZero, MostlyAbsentPiecesStayAbsent) {
  const size_t bytes = 16 * kMiB;
  unsigned char* base = Map(bytes);
  ASSERT_NE(base, nullptr);
  if (ResidentPages(base, bytes) < 0) {
    SystemUnmap(base, bytes);
    GTEST_SKIP() << "mincore is not available here: residency cannot be observed";
  }
  const size_t half = bytes / 2;
  memset(base, 0x33, half);  // pieces 0-3: used in full
  for (size_t off = half; off < bytes; off += kZeroPieceBytes) base[off + 4096] = 0x44;
  const long dense_before = ResidentPages(base, half);
  const long sparse_before = ResidentPages(base + half, half);
  // The kernel may have swapped or (THP) filled something in; the check needs the picture we set.
  const long half_pages = static_cast<long>(half / SystemPageSize());
  if (dense_before < half_pages * 9 / 10 || sparse_before > half_pages / 4) {
    SystemUnmap(base, bytes);
    GTEST_SKIP() << "residency not as written (dense " << dense_before << ", sparse "
                 << sparse_before << " of " << half_pages << " pages): swap or THP=always";
  }
  SystemZero(base, bytes);
  // Before reading anything back: a read of an absent page maps the zero page, which mincore
  // counts as resident.
  EXPECT_GE(ResidentPages(base, half), half_pages * 9 / 10) << "the used half was released";
  EXPECT_LE(ResidentPages(base + half, half), half_pages / 4)
      << "clearing made the untouched pieces resident";
  EXPECT_EQ(FirstNonZero(base, bytes), bytes);
  SystemUnmap(base, bytes);
}

// Below kZeroProbeMinBytes it is a memset: all zero, and resident.
TEST(SystemZero, SmallRangesAreCleared) {
  const size_t bytes = kZeroProbeMinBytes - 8192;
  unsigned char* base = Map(bytes + 8192);
  ASSERT_NE(base, nullptr);
  base[0] = 1;
  base[bytes - 1] = 2;
  base[bytes] = 3;
  SystemZero(base, bytes);
  EXPECT_EQ(FirstNonZero(base, bytes), bytes);
  EXPECT_EQ(base[bytes], 3);
  SystemUnmap(base, bytes + 8192);
}

}  // namespace
}  // namespace rseqmalloc

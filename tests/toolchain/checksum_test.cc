#include "tests/toolchain/checksum.h"

#include <cstring>

#include "gtest/gtest.h"

namespace rseqmalloc::toolchain {
namespace {

TEST(Adler32, KnownVectors) {
  EXPECT_EQ(Adler32("", 0), 1u);
  const char* wiki = "Wikipedia";
  EXPECT_EQ(Adler32(wiki, std::strlen(wiki)), 0x11E60398u);
}

TEST(Adler32, SensitiveToOrder) {
  EXPECT_NE(Adler32("ab", 2), Adler32("ba", 2));
}

}  // namespace
}  // namespace rseqmalloc::toolchain

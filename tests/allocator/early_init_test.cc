// The back end is used before any constructor of ours has run (ld.so and libstdc++ allocate
// early). Its globals must therefore be constant-initialised: if one were initialised at run
// time, that initialisation would run after this file's early constructor and wipe the state
// the constructor created. Built with gcc, which (unlike clang) leaves anything not constexpr
// to run time.
#include <stddef.h>

#include "allocator/metadata_arena.h"
#include "allocator/page_heap.h"
#include "allocator/page_map.h"
#include "allocator/size_classes.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

struct EarlyUser {
  EarlyUser() {
    span = g_page_heap.New(3);
    metadata = MetadataAlloc(100, 16);
    metadata_stats = GetMetadataStats();
    class_for_100 = SizeMap::ClassFor(100);
  }
  Span* span;
  void* metadata;
  MetadataStats metadata_stats;
  uint32_t class_for_100;
};

// Priority 101: before every ordinary constructor in the program.
__attribute__((init_priority(101))) EarlyUser early;

TEST(EarlyInitTest, StateCreatedBeforeConstructorsSurvives) {
  ASSERT_NE(early.span, nullptr);
  EXPECT_EQ(early.span->num_pages, 3u);
  EXPECT_EQ(g_pagemap.GetSpan(early.span->first_page + 2), early.span);
  const PageHeap::Stats st = g_page_heap.GetStats();
  EXPECT_GE(st.in_use_bytes, 3 * kPageSize);
  EXPECT_GE(st.large_allocs, 1u);
  EXPECT_EQ(st.system_bytes, st.free_bytes + st.returned_bytes + st.in_use_bytes);
  ASSERT_NE(early.metadata, nullptr);
  EXPECT_GE(GetMetadataStats().mapped_bytes, early.metadata_stats.mapped_bytes);
  EXPECT_GE(GetMetadataStats().allocated_bytes, early.metadata_stats.allocated_bytes);
  EXPECT_EQ(early.class_for_100, SizeMap::ClassFor(100));
  EXPECT_NE(early.class_for_100, 0u);
  g_page_heap.Delete(early.span);
}

}  // namespace
}  // namespace rseqmalloc

#include "allocator/page_map.h"

#include <stdint.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

// A private map, so the tests choose their page ids freely (they need not be real memory).
PageMap* TestMap() {
  static PageMap map;  // constant-initialised, 1 MiB of .bss
  return &map;
}

Span* FakeSpan(uintptr_t n) { return reinterpret_cast<Span*>(n * 64); }

TEST(PageMapTest, UnknownAddressesAreNull) {
  PageMap* map = TestMap();
  int on_stack = 0;
  EXPECT_EQ(map->GetSpan(0), nullptr);
  EXPECT_EQ(map->GetSpan(PageIdOf(&on_stack)), nullptr);
  EXPECT_EQ(map->GetSpan(~PageId{0}), nullptr);          // beyond 48 bits
  EXPECT_EQ(map->GetSpan(PageId{1} << 35), nullptr);      // first id past the map
  EXPECT_EQ(map->GetSizeClass(PageIdOf(&on_stack)), 0);
  EXPECT_EQ(map->GetSizeClass(~PageId{0}), 0);
  // The global map knows nothing about a stack or a kernel address either.
  EXPECT_EQ(g_pagemap.GetSpan(PageIdOf(&on_stack)), nullptr);
  EXPECT_EQ(g_pagemap.GetSpan(PageIdOf(reinterpret_cast<void*>(0xffff800000000000ull))), nullptr);
}

TEST(PageMapTest, SetAndGetAcrossLeaves) {
  PageMap* map = TestMap();
  const size_t leaves_before = map->leaves();
  const PageId boundary = PageId{7} << PageMap::kLeafBits;
  const PageId first = boundary - 5;
  ASSERT_TRUE(map->Ensure(first, 10));
  EXPECT_EQ(map->leaves(), leaves_before + 2);
  ASSERT_TRUE(map->Ensure(first, 10));  // idempotent
  EXPECT_EQ(map->leaves(), leaves_before + 2);

  map->SetRange(first, 10, FakeSpan(1));
  for (PageId p = first; p < first + 10; ++p) EXPECT_EQ(map->GetSpan(p), FakeSpan(1)) << p;
  EXPECT_EQ(map->GetSpan(first - 1), nullptr);
  EXPECT_EQ(map->GetSpan(first + 10), nullptr);

  map->Set(boundary, FakeSpan(2));
  EXPECT_EQ(map->GetSpan(boundary), FakeSpan(2));
  EXPECT_EQ(map->GetSpan(boundary - 1), FakeSpan(1));

  map->SetSizeClass(first + 2, 6, 42);
  EXPECT_EQ(map->GetSizeClass(first + 1), 0);
  for (PageId p = first + 2; p < first + 8; ++p) EXPECT_EQ(map->GetSizeClass(p), 42) << p;
  EXPECT_EQ(map->GetSizeClass(first + 8), 0);
  // Size classes and spans are independent.
  EXPECT_EQ(map->GetSpan(first + 3), FakeSpan(1));

  map->SetRange(first, 10, nullptr);
  map->SetSizeClass(first, 10, 0);
  for (PageId p = first; p < first + 10; ++p) {
    EXPECT_EQ(map->GetSpan(p), nullptr);
    EXPECT_EQ(map->GetSizeClass(p), 0);
  }
}

TEST(PageMapTest, HighestPagesAndRangeChecks) {
  PageMap* map = TestMap();
  const PageId last = (PageId{1} << 35) - 1;
  ASSERT_TRUE(map->Ensure(last, 1));
  map->Set(last, FakeSpan(3));
  EXPECT_EQ(map->GetSpan(last), FakeSpan(3));
  EXPECT_FALSE(map->Ensure(last, 2));
  EXPECT_FALSE(map->Ensure(PageId{1} << 35, 1));
  EXPECT_FALSE(map->Ensure(1, ~size_t{0}));
  EXPECT_TRUE(map->Ensure(last, 0));
}

TEST(PageMapTest, ConcurrentEnsureCreatesOneLeaf) {
  PageMap* map = TestMap();
  const size_t before = map->leaves();
  const PageId base = PageId{1000} << PageMap::kLeafBits;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      if (!map->Ensure(base + t * 1000, 5)) failures++;
      map->Set(base + t * 1000, FakeSpan(t + 10));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(map->leaves(), before + 1);
  for (int t = 0; t < 6; ++t) EXPECT_EQ(map->GetSpan(base + t * 1000), FakeSpan(t + 10));
}

}  // namespace
}  // namespace rseqmalloc

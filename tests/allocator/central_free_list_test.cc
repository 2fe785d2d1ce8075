#include "allocator/central_free_list.h"

#include <set>
#include <vector>

#include "allocator/page_map.h"
#include "allocator/size_classes.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

// A class whose spans hold a handful of objects, so that tests cross span boundaries quickly.
uint32_t ClassWithFewObjectsPerSpan() {
  for (uint32_t cl = kNumClasses - 1; cl >= 1; --cl) {
    if (SizeMap::ObjectsPerSpan(cl) >= 4 && SizeMap::ObjectsPerSpan(cl) <= 16) return cl;
  }
  return 0;
}

TEST(CentralFreeList, HandsOutDistinctObjectsOfItsClassAndTakesThemBack) {
  const uint32_t cl = SizeMap::ClassFor(48);
  CentralFreeList list;
  list.Init(cl);
  const int n = static_cast<int>(SizeMap::ObjectsPerSpan(cl)) * 2 + 3;
  std::vector<void*> objects(n);
  ASSERT_EQ(list.RemoveRange(objects.data(), n), n);
  std::set<void*> distinct(objects.begin(), objects.end());
  EXPECT_EQ(distinct.size(), static_cast<size_t>(n));
  for (void* p : objects) {
    Span* span = g_pagemap.GetSpan(PageIdOf(p));
    ASSERT_NE(span, nullptr);
    EXPECT_EQ(span->state, Span::State::kSmall);
    EXPECT_EQ(g_pagemap.GetSizeClass(PageIdOf(p)), cl);
    const size_t offset = static_cast<char*>(p) - static_cast<char*>(span->start());
    EXPECT_EQ(offset % SizeMap::ClassSize(cl), 0u);
  }
  EXPECT_EQ(list.spans(), 3u);
  list.InsertRange(objects.data(), n);
  // Every span came back empty, so every span went back to the page heap.
  EXPECT_EQ(list.spans(), 0u);
  EXPECT_EQ(list.free_objects(), 0u);
  EXPECT_EQ(g_pagemap.GetSizeClass(PageIdOf(objects[0])), 0);
}

TEST(CentralFreeList, PrefersTheFullestSpan) {
  const uint32_t cl = ClassWithFewObjectsPerSpan();
  ASSERT_NE(cl, 0u);
  const int per_span = static_cast<int>(SizeMap::ObjectsPerSpan(cl));
  CentralFreeList list;
  list.Init(cl);
  std::vector<void*> first(per_span), second(per_span);
  ASSERT_EQ(list.RemoveRange(first.data(), per_span), per_span);
  ASSERT_EQ(list.RemoveRange(second.data(), per_span), per_span);
  Span* sparse = g_pagemap.GetSpan(PageIdOf(first[0]));
  Span* full = g_pagemap.GetSpan(PageIdOf(second[0]));
  ASSERT_NE(sparse, full);
  // Leave one object in `sparse` and free one object of `full`.
  list.InsertRange(first.data(), per_span - 1);
  list.InsertRange(&second[0], 1);
  void* next;
  ASSERT_EQ(list.RemoveRange(&next, 1), 1);
  EXPECT_EQ(g_pagemap.GetSpan(PageIdOf(next)), full);
  list.InsertRange(&next, 1);
  list.InsertRange(&first[per_span - 1], 1);
  list.InsertRange(second.data() + 1, per_span - 1);
  EXPECT_EQ(list.spans(), 0u);
}

TEST(CentralFreeList, CountsFollowPartialReturnsAcrossBinBoundaries) {
  // Spans move between bins only when their occupancy crosses a boundary; the counts must
  // stay exact however the objects come back (one at a time or in a batch).
  const uint32_t cl = ClassWithFewObjectsPerSpan();
  ASSERT_NE(cl, 0u);
  CentralFreeList list;
  list.Init(cl);
  const int per_span = static_cast<int>(SizeMap::ObjectsPerSpan(cl));
  std::vector<void*> objects(2 * per_span);
  ASSERT_EQ(list.RemoveRange(objects.data(), 2 * per_span), 2 * per_span);
  EXPECT_EQ(list.free_objects(), 0u);
  // The whole first span and one object of the second, one at a time.
  for (int i = 0; i <= per_span; ++i) list.InsertRange(&objects[i], 1);
  EXPECT_EQ(list.spans(), 1u);
  EXPECT_EQ(list.free_objects(), 1u);
  // The object just returned is handed out again before a new span is made.
  void* again;
  ASSERT_EQ(list.RemoveRange(&again, 1), 1);
  EXPECT_EQ(again, objects[per_span]);
  EXPECT_EQ(list.free_objects(), 0u);
  list.InsertRange(&again, 1);
  list.InsertRange(&objects[per_span + 1], per_span - 1);
  EXPECT_EQ(list.spans(), 0u);
  EXPECT_EQ(list.free_objects(), 0u);
}

TEST(CentralFreeListDeathTest, DoubleFreeOfAReturnedSpanDies) {
  const uint32_t cl = SizeMap::ClassFor(1000);
  CentralFreeList list;
  list.Init(cl);
  void* object;
  ASSERT_EQ(list.RemoveRange(&object, 1), 1);
  list.InsertRange(&object, 1);
  EXPECT_DEATH(list.InsertRange(&object, 1), "rseqmalloc: free\\(\\): invalid pointer or double");
}

}  // namespace
}  // namespace rseqmalloc

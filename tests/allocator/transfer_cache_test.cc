#include "allocator/transfer_cache.h"

#include <set>
#include <vector>

#include "allocator/size_classes.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

TEST(TransferCache, ShardsLendToEachOtherBeforeAskingTheCentralList) {
  const uint32_t cl = SizeMap::ClassFor(64);
  TransferCache cache;
  ASSERT_TRUE(cache.Init(cl, 2));
  const int batch = static_cast<int>(SizeMap::BatchSize(cl));
  std::vector<void*> objects(batch);
  ASSERT_EQ(cache.Remove(0, objects.data(), batch), batch);  // from the central list
  const size_t central_before = cache.central().free_objects();
  cache.Insert(0, objects.data(), batch);
  EXPECT_EQ(cache.shard(0).count(), static_cast<uint32_t>(batch));
  // A consumer on the other shard gets the producer's batch, not the central list's.
  std::vector<void*> again(batch);
  ASSERT_EQ(cache.Remove(1, again.data(), batch), batch);
  EXPECT_EQ(cache.shard(0).count(), 0u);
  EXPECT_EQ(cache.central().free_objects(), central_before);
  EXPECT_EQ(std::set<void*>(again.begin(), again.end()),
            std::set<void*>(objects.begin(), objects.end()));
  cache.central().InsertRange(again.data(), batch);
}

TEST(TransferCache, FullShardSpillsToTheCentralList) {
  const uint32_t cl = SizeMap::ClassFor(128);
  TransferCache cache;
  ASSERT_TRUE(cache.Init(cl, 1));
  const int batch = static_cast<int>(SizeMap::BatchSize(cl));
  std::vector<std::vector<void*>> batches;
  // Keep inserting batches until the shard refuses one: the central list must receive it.
  for (int i = 0; i < 64; ++i) {
    batches.emplace_back(batch);
    ASSERT_EQ(cache.Remove(0, batches.back().data(), batch), batch);
  }
  const size_t spans_before = cache.central().spans();
  for (auto& b : batches) cache.Insert(0, b.data(), batch);
  // The shard kept what fits; the rest reached the central list, where whole spans emptied
  // and went back to the page heap.
  EXPECT_GT(cache.shard(0).count(), 0u);
  EXPECT_LT(cache.shard(0).count(), 64u * batch);
  EXPECT_LT(cache.central().spans(), spans_before);
  // Drain everything back to the central list: all spans return to the page heap.
  std::vector<void*> out(batch);
  for (int got; (got = cache.shard(0).Remove(out.data(), batch, false)) > 0;) {
    cache.central().InsertRange(out.data(), got);
  }
  EXPECT_EQ(cache.central().spans(), 0u);
}

}  // namespace
}  // namespace rseqmalloc

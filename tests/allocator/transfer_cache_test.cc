#include "allocator/transfer_cache.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "allocator/size_classes.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

// Takes count full batches out of the cache (from the central list, the shards being empty).
void TakeBatches(TransferCache& cache, int count, int batch,
                 std::vector<std::vector<void*>>* batches) {
  for (int i = 0; i < count; ++i) {
    batches->emplace_back(batch);
    ASSERT_EQ(cache.Remove(0, batches->back().data(), batch), batch);
  }
}

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
  // Keep inserting batches until the shard refuses one: the central list must receive it.
  std::vector<std::vector<void*>> batches;
  ASSERT_NO_FATAL_FAILURE(TakeBatches(cache, 64, batch, &batches));
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

// Shards are bounded in bytes (kShardByteCap); a class whose batch exceeds the bound has no
// shards at all, and its batches go straight to and from the central list.
TEST(TransferCache, ShardsHoldAtMostTheByteCapAndBigClassesHaveNone) {
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    TransferCache cache;
    ASSERT_TRUE(cache.Init(cl, 2));
    const int batch = static_cast<int>(SizeMap::BatchSize(cl));
    const size_t size = SizeMap::ClassSize(cl);
    const bool has_shards = size * static_cast<size_t>(batch) <= TransferCache::kShardByteCap &&
                            size <= TransferCache::kMaxShardedObjectBytes;
    EXPECT_EQ(TransferCache::HasShards(cl), has_shards) << "class " << cl;
    std::vector<std::vector<void*>> batches;
    ASSERT_NO_FATAL_FAILURE(TakeBatches(cache, 12, batch, &batches));
    for (auto& b : batches) cache.Insert(0, b.data(), batch);
    for (int i = 0; i < cache.num_shards(); ++i) {
      const size_t held = cache.shard(i).count() * size;
      EXPECT_LE(held, TransferCache::kShardByteCap) << "class " << cl << " shard " << i;
      if (!has_shards) {
        EXPECT_EQ(held, 0u) << "class " << cl << " (" << size << " bytes)";
      }
    }
    if (has_shards) {
      EXPECT_GT(cache.cached_objects(), 0u) << "class " << cl;
    }
    // Everything goes back, and every span returns to the page heap.
    cache.FlushToCentral();
    EXPECT_EQ(cache.central().spans(), 0u) << "class " << cl;
  }
}

// Where the line falls: the 3840-byte class keeps its shards; the next one (4224 bytes, where
// 4 KiB requests go) and every larger one send batches to the central list.
TEST(TransferCache, ClassesAbove4KiBHaveNoShards) {
  EXPECT_TRUE(TransferCache::HasShards(SizeMap::ClassFor(256)));
  EXPECT_TRUE(TransferCache::HasShards(SizeMap::ClassFor(3840)));
  EXPECT_FALSE(TransferCache::HasShards(SizeMap::ClassFor(4096)));
  EXPECT_FALSE(TransferCache::HasShards(SizeMap::ClassFor(8192)));
}

TEST(TransferCache, FullShardSpillsToANeighbourWithRoomBeforeTheCentralList) {
  const uint32_t cl = SizeMap::ClassFor(256);
  TransferCache cache;
  ASSERT_TRUE(cache.Init(cl, 2));
  const int batch = static_cast<int>(SizeMap::BatchSize(cl));
  // Insert into shard 0 until a batch goes elsewhere: it must land in shard 1, not the
  // central list.
  std::vector<std::vector<void*>> batches;
  ASSERT_NO_FATAL_FAILURE(TakeBatches(cache, 256, batch, &batches));
  const size_t central_free_before = cache.central().free_objects();
  const size_t spans_before = cache.central().spans();
  int inserted = 0;
  while (cache.shard(1).count() == 0 && inserted < 256) {
    cache.Insert(0, batches[inserted].data(), batch);
    ++inserted;
  }
  ASSERT_LT(inserted, 256) << "shard 0 never filled";
  EXPECT_EQ(cache.shard(1).count(), static_cast<uint32_t>(batch));
  EXPECT_EQ(cache.central().free_objects(), central_free_before);
  // Both full: only now does the central list receive batches.
  for (int i = inserted; i < 256; ++i) cache.Insert(0, batches[i].data(), batch);
  EXPECT_GT(cache.shard(1).count(), static_cast<uint32_t>(batch));
  EXPECT_LT(cache.central().spans(), spans_before);  // spans emptied there
  // Everything back: every span returns to the page heap.
  EXPECT_GT(cache.FlushToCentral(), 0u);
  EXPECT_EQ(cache.central().spans(), 0u);
}

TEST(TransferCache, WaitsForABusyNeighbourThatHoldsObjects) {
  const uint32_t cl = SizeMap::ClassFor(64);
  TransferCache cache;
  ASSERT_TRUE(cache.Init(cl, 2));
  const int batch = static_cast<int>(SizeMap::BatchSize(cl));
  std::vector<void*> objects(batch);
  ASSERT_EQ(cache.Remove(0, objects.data(), batch), batch);
  cache.Insert(1, objects.data(), batch);
  const size_t central_before = cache.central().free_objects();
  // Shard 1's lock is busy when shard 0 runs dry; its holder lets go a moment later.
  cache.shard(1).lock().Lock();
  std::thread holder([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cache.shard(1).lock().Unlock();
  });
  std::vector<void*> again(batch);
  ASSERT_EQ(cache.Remove(0, again.data(), batch), batch);
  holder.join();
  // The objects came from the neighbour, not from new spans of the central list.
  EXPECT_EQ(cache.shard(1).count(), 0u);
  EXPECT_EQ(cache.central().free_objects(), central_before);
  EXPECT_EQ(std::set<void*>(again.begin(), again.end()),
            std::set<void*>(objects.begin(), objects.end()));
  cache.central().InsertRange(again.data(), batch);
}

TEST(TransferCache, InitClassesLaysTheShardsOutShardByShard) {
  // What a process on one CPU touches is the bottom of every class's shard 0. Packed shard by
  // shard, those bottoms lie on about as many pages as the shard-0 storage fills; laid out class
  // by class they lie twice as far apart. (Counting pages, not comparing address ranges, keeps
  // the check true if the arena moves on to a new chunk part of the way through.)
  constexpr int kShards = 2;
  auto caches = std::make_unique<TransferCache[]>(kNumClasses);
  ASSERT_TRUE(TransferCache::InitClasses(caches.get(), kNumClasses, kShards));
  std::set<uintptr_t> bottom_pages;
  size_t shard0_bytes = 0, sharded_classes = 0;
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    ASSERT_EQ(caches[cl].num_shards(), kShards);
    const TransferCacheShard& first = caches[cl].shard(0);
    EXPECT_EQ(first.capacity() != 0, TransferCache::HasShards(cl)) << cl;
    if (first.capacity() == 0) continue;
    ++sharded_classes;
    bottom_pages.insert(reinterpret_cast<uintptr_t>(first.storage()) / 4096);
    shard0_bytes += sizeof(void*) * first.capacity();
  }
  ASSERT_GT(sharded_classes, 40u);
  EXPECT_LE(bottom_pages.size(), (shard0_bytes + 4095) / 4096 + 2);
  // And the caches work: a batch goes in through a shard and comes back out.
  const uint32_t cl = SizeMap::ClassFor(64);
  const int batch = static_cast<int>(SizeMap::BatchSize(cl));
  std::vector<void*> objects(batch), again(batch);
  ASSERT_EQ(caches[cl].Remove(0, objects.data(), batch), batch);
  caches[cl].Insert(0, objects.data(), batch);
  EXPECT_EQ(caches[cl].shard(0).count(), static_cast<uint32_t>(batch));
  ASSERT_EQ(caches[cl].Remove(1, again.data(), batch), batch);
  EXPECT_EQ(std::set<void*>(again.begin(), again.end()),
            std::set<void*>(objects.begin(), objects.end()));
  caches[cl].central().InsertRange(again.data(), batch);
}

}  // namespace
}  // namespace rseqmalloc

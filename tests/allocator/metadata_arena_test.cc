#include "allocator/metadata_arena.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <algorithm>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "allocator/system_allocator.h"
#include "gtest/gtest.h"

namespace rseqmalloc {
namespace {

bool AllZero(const void* p, size_t n) {
  const unsigned char* c = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    if (c[i] != 0) return false;
  }
  return true;
}

TEST(SystemAllocatorTest, AlignmentsUpTo1GiB) {
  for (size_t align = 4096; align <= (size_t{1} << 30); align <<= 3) {
    void* p = SystemAlloc(3 * 8192, align);
    ASSERT_NE(p, nullptr) << align;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u) << align;
    EXPECT_TRUE(AllZero(p, 3 * 8192));
    memset(p, 0x5a, 3 * 8192);
    SystemUnmap(p, 3 * 8192);
  }
}

TEST(SystemAllocatorTest, BadArguments) {
  errno = 0;
  EXPECT_EQ(SystemAlloc(8192, 3 * 4096), nullptr);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(SystemAlloc(8192, size_t{2} << 30), nullptr);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(SystemAlloc(SIZE_MAX - 10, 4096), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(SystemAllocatorTest, ReleaseZeroesAndKeepsMappingAndErrno) {
  const size_t bytes = 1 << 20;
  char* p = static_cast<char*>(SystemAlloc(bytes, 1 << 21));
  ASSERT_NE(p, nullptr);
  memset(p, 0x77, bytes);
  errno = 12345;
  EXPECT_TRUE(SystemRelease(p, bytes));
  EXPECT_EQ(errno, 12345);
  EXPECT_TRUE(AllZero(p, bytes));
  p[bytes - 1] = 1;  // still mapped
  SystemUnmap(p, bytes);
}

TEST(MetadataArenaTest, AlignedZeroedDistinct) {
  std::vector<std::pair<uintptr_t, size_t>> blocks;
  const MetadataStats before = GetMetadataStats();
  size_t requested = 0;
  for (int i = 0; i < 2000; ++i) {
    const size_t bytes = 1 + (i * 37) % 700;
    const size_t align = size_t{1} << (i % 8);
    void* p = MetadataAlloc(bytes, align);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % align, 0u);
    ASSERT_TRUE(AllZero(p, bytes));
    memset(p, 0xff, bytes);
    blocks.emplace_back(reinterpret_cast<uintptr_t>(p), bytes);
    requested += bytes;
  }
  std::sort(blocks.begin(), blocks.end());
  for (size_t i = 1; i < blocks.size(); ++i) {
    ASSERT_LE(blocks[i - 1].first + blocks[i - 1].second, blocks[i].first) << "overlap";
  }
  const MetadataStats after = GetMetadataStats();
  EXPECT_GE(after.allocated_bytes - before.allocated_bytes, requested);
  EXPECT_GE(after.mapped_bytes, after.allocated_bytes);
}

TEST(MetadataArenaTest, LargeRequestsGetTheirOwnMapping) {
  const MetadataStats before = GetMetadataStats();
  void* p = MetadataAlloc(3 << 20, 4096);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 4096, 0u);
  memset(p, 1, 3 << 20);
  EXPECT_GE(GetMetadataStats().mapped_bytes - before.mapped_bytes, size_t{3} << 20);
  void* q = MetadataAlloc(64, 1 << 16);  // over-aligned: direct mapping
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % (1 << 16), 0u);
}

TEST(MetadataArenaTest, ConcurrentAllocationsDoNotOverlap) {
  constexpr int kThreads = 4, kPerThread = 5000;
  std::vector<std::vector<std::pair<uintptr_t, size_t>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &got] {
      for (int i = 0; i < kPerThread; ++i) {
        const size_t bytes = 16 + (i % 13) * 16;
        void* p = MetadataAlloc(bytes, 16);
        if (p == nullptr) return;
        memset(p, t + 1, bytes);
        got[t].emplace_back(reinterpret_cast<uintptr_t>(p), bytes);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::vector<std::pair<uintptr_t, size_t>> all;
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(got[t].size(), size_t{kPerThread});
    for (auto& b : got[t]) {
      // Every byte still carries its owner's mark.
      const unsigned char* c = reinterpret_cast<const unsigned char*>(b.first);
      for (size_t i = 0; i < b.second; ++i) ASSERT_EQ(c[i], t + 1);
      all.push_back(b);
    }
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) ASSERT_LE(all[i - 1].first + all[i - 1].second, all[i].first);
}

struct Thing {
  uint64_t a;
  uint64_t b[7];
};

TEST(ObjectPoolTest, RecyclesAndZeroes) {
  static ObjectPool<Thing> pool;  // constant-initialised
  Thing* x = pool.New();
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(x) % alignof(Thing), 0u);
  EXPECT_TRUE(AllZero(x, sizeof(Thing)));
  memset(x, 0xab, sizeof(Thing));
  EXPECT_EQ(pool.live(), 1u);
  pool.Delete(x);
  EXPECT_EQ(pool.live(), 0u);
  Thing* y = pool.New();
  EXPECT_EQ(y, x) << "freed objects are reused first";
  EXPECT_TRUE(AllZero(y, sizeof(Thing))) << "New zero-initialises recycled objects";
  EXPECT_EQ(pool.total(), 1u);
  pool.Delete(y);
}

TEST(ObjectPoolTest, ConcurrentNewDelete) {
  static ObjectPool<Thing> pool;
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<bool> bad{false};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &bad] {
      std::vector<Thing*> mine;
      for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 50; ++i) {
          Thing* p = pool.New();
          if (p == nullptr || p->a != 0) bad = true;
          if (p == nullptr) return;
          p->a = static_cast<uint64_t>(t) + 1;
          mine.push_back(p);
        }
        for (Thing* p : mine) {
          if (p->a != static_cast<uint64_t>(t) + 1) bad = true;
          pool.Delete(p);
        }
        mine.clear();
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(bad.load());
  EXPECT_EQ(pool.live(), 0u);
  EXPECT_LE(pool.total(), size_t{kThreads} * 50);
}

}  // namespace
}  // namespace rseqmalloc

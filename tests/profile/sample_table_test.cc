#include "allocator/profile/sample_table.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "allocator/profile/sampler.h"
#include "gtest/gtest.h"

namespace rseqmalloc::profile {
namespace {

struct Sums {
  Amount header{0, 0};
  int buckets = 0;
};

Sums Collect(SampleTable& table, ProfileKind kind) {
  Sums sums;
  table.ForEach(
      kind,
      [](const Amount& shown, const Amount&, const Bucket* bucket, void* arg) {
        auto* s = static_cast<Sums*>(arg);
        if (bucket == nullptr) s->header = shown;
        else ++s->buckets;
      },
      &sums);
  return sums;
}

// Objects at nearby addresses collide in the live map; removing them in random order exercises
// the backward-shift deletion, after which every remaining object must still be found.
TEST(SampleTable, RecordAndRemoveInRandomOrder) {
  static SampleTable table;
  ASSERT_TRUE(table.Init());
  void* stacks[3][2] = {{reinterpret_cast<void*>(0x1000), reinterpret_cast<void*>(0x2000)},
                        {reinterpret_cast<void*>(0x3000), reinterpret_cast<void*>(0x4000)},
                        {reinterpret_cast<void*>(0x5000), nullptr}};
  std::vector<uintptr_t> objects;
  for (uintptr_t i = 0; i < 20000; ++i) {
    const uintptr_t object = 0x10000000 + i * 16;
    objects.push_back(object);
    ASSERT_TRUE(table.Record(reinterpret_cast<void*>(object), 100, stacks[i % 3],
                             i % 3 == 2 ? 1 : 2, 2.0));
  }
  EXPECT_EQ(table.live_samples(), 20000u);
  EXPECT_EQ(table.samples(), 20000u);
  EXPECT_EQ(table.sampled_bytes(), 20000u * 100);
  Sums live = Collect(table, ProfileKind::kLive);
  EXPECT_EQ(live.buckets, 3);
  EXPECT_DOUBLE_EQ(live.header.count, 40000.0);
  EXPECT_DOUBLE_EQ(live.header.bytes, 4000000.0);

  std::mt19937 random(7);
  std::shuffle(objects.begin(), objects.end(), random);
  for (size_t i = 0; i < objects.size() / 2; ++i) {
    ASSERT_TRUE(table.Remove(reinterpret_cast<void*>(objects[i]))) << i;
    ASSERT_FALSE(table.Remove(reinterpret_cast<void*>(objects[i]))) << "removed twice";
  }
  EXPECT_EQ(table.live_samples(), 10000u);
  for (size_t i = objects.size() / 2; i < objects.size(); ++i) {
    ASSERT_TRUE(table.Remove(reinterpret_cast<void*>(objects[i]))) << i;
  }
  EXPECT_EQ(table.live_samples(), 0u);
  live = Collect(table, ProfileKind::kLive);
  EXPECT_NEAR(live.header.bytes, 0.0, 1e-6);
  // The peak profile kept the maximum; the growth window restarts empty.
  EXPECT_DOUBLE_EQ(Collect(table, ProfileKind::kPeak).header.bytes, 4000000.0);
  table.StartWindow();
  EXPECT_DOUBLE_EQ(Collect(table, ProfileKind::kGrowth).header.bytes, 0.0);
}

TEST(Sampler, WeightIsOneOverTheSamplingProbability) {
  SetMeanSampleInterval(size_t{2} << 20);
  EXPECT_NEAR(SampleWeight(size_t{2} << 20), 1.0 / (1.0 - 0.36787944117144233), 1e-6);
  EXPECT_NEAR(SampleWeight(64) * 64, double{2 << 20}, 64.0);  // small objects: weight ~ mean/size
  EXPECT_NEAR(SampleWeight(size_t{64} << 20), 1.0, 1e-9);    // huge objects: always sampled
}

// Over many allocations, the number of samples matches bytes / mean.
TEST(Sampler, SamplesAtTheMeanRate) {
  SetMeanSampleInterval(4096);
  int samples = 0;
  for (int i = 0; i < 4000000; ++i) samples += ShouldSample(64);
  const double expected = 4000000.0 * 64 / 4096;  // 62500
  EXPECT_NEAR(samples, expected, expected * 0.03);
}

}  // namespace
}  // namespace rseqmalloc::profile

// The samples: one bucket per distinct call stack with its weighted counts, and a map from each
// live sampled object to its bucket. Memory comes from mmap at start-up (reserved, touched only
// as used), never from malloc. One lock guards it; it is taken once per sample and once per free
// of a sampled object, which the sampling interval makes rare.
#ifndef RSEQMALLOC_ALLOCATOR_PROFILE_SAMPLE_TABLE_H_
#define RSEQMALLOC_ALLOCATOR_PROFILE_SAMPLE_TABLE_H_

#include <stddef.h>
#include <stdint.h>

#include "allocator/profile/stack_trace.h"
#include "allocator/spin_lock.h"

namespace rseqmalloc::profile {

// What a profile shows (the extension API's RSEQMALLOC_PROFILE_* kinds).
enum class ProfileKind : int { kLive = 0, kPeak = 1, kGrowth = 2 };

// Weighted (estimated) allocation counts and bytes.
struct Amount {
  double count;
  double bytes;
};

struct Bucket {
  uint64_t hash;
  int depth;
  void* pcs[kMaxStackDepth];
  Amount live;    // sampled objects of this stack not yet freed
  Amount total;   // every sample since start-up
  Amount window;  // samples since the growth window was last (re)started
  Amount peak;    // `live` as it was at the largest estimated live heap
};

class SampleTable {
 public:
  static constexpr uint32_t kMaxBuckets = 1 << 14;
  static constexpr uint32_t kMaxLive = 1 << 16;

  // Reserves the table's memory. False if mmap failed.
  bool Init();

  // Records a sampled object. False (nothing recorded) when the table is full.
  bool Record(const void* object, size_t requested, void* const* pcs, int depth, double weight);
  // Forgets a sampled object; false if it was not recorded.
  bool Remove(const void* object);
  // The growth profile starts over from now.
  void StartWindow();

  // With the lock held, calls emit(shown, total, nullptr, arg) once with the sums over all
  // buckets, then emit(shown, total, bucket, arg) for every bucket with something to show:
  // `shown` is what the profile of `kind` counts, `total` every sample (growth: the window's).
  using EmitFunction = void (*)(const Amount& shown, const Amount& total, const Bucket* bucket,
                                void* arg);
  void ForEach(ProfileKind kind, EmitFunction emit, void* arg);

  uint64_t samples() const { return __atomic_load_n(&samples_, __ATOMIC_RELAXED); }
  uint64_t sampled_bytes() const { return __atomic_load_n(&sampled_bytes_, __ATOMIC_RELAXED); }
  uint64_t live_samples() const { return __atomic_load_n(&live_samples_, __ATOMIC_RELAXED); }
  uint64_t dropped() const { return __atomic_load_n(&dropped_, __ATOMIC_RELAXED); }

  SpinLock& lock() { return lock_; }

 private:
  struct LiveEntry {
    uintptr_t object;  // 0: empty slot
    uint32_t bucket;
    uint32_t unused;
    Amount amount;
  };

  Bucket* FindOrAddBucket(void* const* pcs, int depth);
  void TakePeakSnapshot();

  SpinLock lock_;
  Bucket* buckets_ = nullptr;
  uint32_t num_buckets_ = 0;
  uint32_t* bucket_index_ = nullptr;  // open addressing: bucket number + 1, 0 = empty
  LiveEntry* live_ = nullptr;         // open addressing by object address, linear probing
  uint32_t live_count_ = 0;
  Amount live_sum_{0, 0};
  double peak_bytes_ = 0;
  uint64_t samples_ = 0;
  uint64_t sampled_bytes_ = 0;
  uint64_t live_samples_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace rseqmalloc::profile

#endif  // RSEQMALLOC_ALLOCATOR_PROFILE_SAMPLE_TABLE_H_

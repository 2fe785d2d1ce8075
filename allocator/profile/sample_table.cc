#include "allocator/profile/sample_table.h"

#include <string.h>

#include "allocator/system_allocator.h"

namespace rseqmalloc::profile {
namespace {

constexpr uint32_t kIndexSlots = SampleTable::kMaxBuckets * 2;  // at most half full
constexpr uint32_t kLiveSlots = SampleTable::kMaxLive * 2;

uint64_t HashStack(void* const* pcs, int depth) {
  uint64_t h = 0x84222325CBF29CE4ULL ^ static_cast<uint64_t>(depth);
  for (int i = 0; i < depth; ++i) {
    h ^= reinterpret_cast<uintptr_t>(pcs[i]);
    h *= 0x100000001B3ULL;
    h ^= h >> 29;
  }
  return h;
}

uint32_t LiveSlotOf(uintptr_t object) {
  return static_cast<uint32_t>((object >> 4) * 0x9E3779B97F4A7C15ULL >> 40) & (kLiveSlots - 1);
}

void Add(Amount* to, const Amount& a) {
  to->count += a.count;
  to->bytes += a.bytes;
}

}  // namespace

bool SampleTable::Init() {
  buckets_ = static_cast<Bucket*>(SystemAlloc(sizeof(Bucket) * kMaxBuckets, 64));
  bucket_index_ = static_cast<uint32_t*>(SystemAlloc(sizeof(uint32_t) * kIndexSlots, 64));
  live_ = static_cast<LiveEntry*>(SystemAlloc(sizeof(LiveEntry) * kLiveSlots, 64));
  return buckets_ != nullptr && bucket_index_ != nullptr && live_ != nullptr;
}

Bucket* SampleTable::FindOrAddBucket(void* const* pcs, int depth) {
  const uint64_t hash = HashStack(pcs, depth);
  for (uint32_t i = static_cast<uint32_t>(hash) & (kIndexSlots - 1);; i = (i + 1) & (kIndexSlots - 1)) {
    const uint32_t entry = bucket_index_[i];
    if (entry == 0) {
      if (num_buckets_ == kMaxBuckets) return nullptr;
      Bucket* bucket = &buckets_[num_buckets_];
      bucket->hash = hash;
      bucket->depth = depth;
      memcpy(bucket->pcs, pcs, sizeof(void*) * static_cast<size_t>(depth));
      bucket_index_[i] = ++num_buckets_;
      return bucket;
    }
    Bucket* bucket = &buckets_[entry - 1];
    if (bucket->hash == hash && bucket->depth == depth &&
        memcmp(bucket->pcs, pcs, sizeof(void*) * static_cast<size_t>(depth)) == 0) {
      return bucket;
    }
  }
}

// The peak profile is the live one as it was at the largest estimated live heap. Copying every
// bucket on each new maximum would cost O(buckets) per sample while a heap grows, so while it
// grows a snapshot is only taken when the live estimate passes the last one by 1/64; the exact
// maximum is caught at the first free after it (a maximum is always followed by a free, or is
// the present, which the live profile shows).
void SampleTable::TakePeakSnapshot() {
  for (uint32_t b = 0; b < num_buckets_; ++b) buckets_[b].peak = buckets_[b].live;
  peak_bytes_ = live_sum_.bytes;
}

bool SampleTable::Record(const void* object, size_t requested, void* const* pcs, int depth,
                         double weight) {
  const Amount amount{weight, weight * static_cast<double>(requested)};
  const uintptr_t key = reinterpret_cast<uintptr_t>(object);
  SpinLockHolder hold(&lock_);
  Bucket* bucket = live_count_ < kMaxLive ? FindOrAddBucket(pcs, depth) : nullptr;
  if (bucket == nullptr) {
    ++dropped_;
    return false;
  }
  uint32_t i = LiveSlotOf(key);
  while (live_[i].object != 0) i = (i + 1) & (kLiveSlots - 1);
  live_[i] = LiveEntry{key, static_cast<uint32_t>(bucket - buckets_), 0, amount};
  ++live_count_;
  Add(&bucket->live, amount);
  Add(&bucket->total, amount);
  Add(&bucket->window, amount);
  Add(&live_sum_, amount);
  __atomic_store_n(&samples_, samples_ + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&sampled_bytes_, sampled_bytes_ + requested, __ATOMIC_RELAXED);
  __atomic_store_n(&live_samples_, live_count_, __ATOMIC_RELAXED);
  if (live_sum_.bytes > peak_bytes_ + peak_bytes_ / 64) TakePeakSnapshot();
  return true;
}

bool SampleTable::Remove(const void* object) {
  const uintptr_t key = reinterpret_cast<uintptr_t>(object);
  SpinLockHolder hold(&lock_);
  uint32_t i = LiveSlotOf(key);
  while (live_[i].object != key) {
    if (live_[i].object == 0) return false;
    i = (i + 1) & (kLiveSlots - 1);
  }
  if (live_sum_.bytes > peak_bytes_) TakePeakSnapshot();
  Bucket& bucket = buckets_[live_[i].bucket];
  const Amount amount = live_[i].amount;
  bucket.live.count -= amount.count;
  bucket.live.bytes -= amount.bytes;
  live_sum_.count -= amount.count;
  live_sum_.bytes -= amount.bytes;
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  uint32_t hole = i;
  for (uint32_t j = (i + 1) & (kLiveSlots - 1); live_[j].object != 0; j = (j + 1) & (kLiveSlots - 1)) {
    const uint32_t home = LiveSlotOf(live_[j].object);
    // Move j into the hole unless its home lies cyclically in (hole, j].
    const bool home_after_hole = ((j - home) & (kLiveSlots - 1)) < ((j - hole) & (kLiveSlots - 1));
    if (!home_after_hole) {
      live_[hole] = live_[j];
      hole = j;
    }
  }
  live_[hole].object = 0;
  --live_count_;
  __atomic_store_n(&live_samples_, live_count_, __ATOMIC_RELAXED);
  return true;
}

void SampleTable::StartWindow() {
  SpinLockHolder hold(&lock_);
  for (uint32_t b = 0; b < num_buckets_; ++b) buckets_[b].window = Amount{0, 0};
}

void SampleTable::ForEach(ProfileKind kind, EmitFunction emit, void* arg) {
  SpinLockHolder hold(&lock_);
  Amount sum{0, 0};
  Amount total_sum{0, 0};
  for (uint32_t b = 0; b < num_buckets_; ++b) {
    const Bucket& bucket = buckets_[b];
    const Amount& shown = kind == ProfileKind::kLive   ? bucket.live
                          : kind == ProfileKind::kPeak ? bucket.peak
                                                       : bucket.window;
    Add(&sum, shown);
    Add(&total_sum, kind == ProfileKind::kGrowth ? bucket.window : bucket.total);
  }
  emit(sum, total_sum, nullptr, arg);
  for (uint32_t b = 0; b < num_buckets_; ++b) {
    const Bucket& bucket = buckets_[b];
    const Amount& shown = kind == ProfileKind::kLive   ? bucket.live
                          : kind == ProfileKind::kPeak ? bucket.peak
                                                       : bucket.window;
    const Amount& total = kind == ProfileKind::kGrowth ? bucket.window : bucket.total;
    if (shown.count < 0.5 && total.count < 0.5) continue;
    emit(shown, total, &bucket, arg);
  }
}

}  // namespace rseqmalloc::profile

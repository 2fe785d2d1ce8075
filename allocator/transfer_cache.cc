#include "allocator/transfer_cache.h"

#include <string.h>

#include "allocator/locked_section.h"
#include "allocator/metadata_arena.h"

namespace rseqmalloc {

RSEQMALLOC_CONSTINIT TransferCache g_transfer_caches[kNumClasses];

bool TransferCacheShard::Insert(void* const* batch, int n) {
  LockedSection section(&lock_);
  if (count_ + static_cast<uint32_t>(n) > capacity_) return false;
  memcpy(slots_ + count_, batch, sizeof(void*) * static_cast<size_t>(n));
  count_ += static_cast<uint32_t>(n);
  return true;
}

bool TransferCacheShard::TryInsert(void* const* batch, int n) {
  if (LooksFull(n)) return false;  // no lock traffic for a shard that has no room
  percpu::SliceExtensionGuard guard;  // outlives the lock, as in LockedSection
  if (!lock_.TryLock()) return false;
  const bool fits = count_ + static_cast<uint32_t>(n) <= capacity_;
  if (fits) {
    memcpy(slots_ + count_, batch, sizeof(void*) * static_cast<size_t>(n));
    count_ += static_cast<uint32_t>(n);
  }
  lock_.Unlock();
  return fits;
}

int TransferCacheShard::Remove(void** batch, int n, bool try_lock) {
  // A racy peek first, so that scanning empty neighbours costs no lock traffic.
  if (try_lock && LooksEmpty()) return 0;
  percpu::SliceExtensionGuard guard;  // outlives the lock, as in LockedSection
  if (try_lock) {
    if (!lock_.TryLock()) return 0;
  } else {
    lock_.Lock();
  }
  guard.LockAcquired();
  uint32_t take = count_ < static_cast<uint32_t>(n) ? count_ : static_cast<uint32_t>(n);
  count_ -= take;
  memcpy(batch, slots_ + count_, sizeof(void*) * take);
  lock_.Unlock();
  return static_cast<int>(take);
}

bool TransferCache::HasShards(uint32_t size_class) {
  const size_t size = SizeMap::ClassSize(size_class);
  return size <= kMaxShardedObjectBytes && size * SizeMap::BatchSize(size_class) <= kShardByteCap;
}

bool TransferCache::Init(uint32_t size_class, int shards) {
  Configure(size_class, shards);
  for (int i = 0; i < num_shards_; ++i) {
    if (!AllocateShard(i)) return false;
  }
  return true;
}

bool TransferCache::InitClasses(TransferCache* caches, uint32_t num_classes, int shards) {
  for (uint32_t cl = 1; cl < num_classes; ++cl) caches[cl].Configure(cl, shards);
  // Shard-major: every class's shard 0, then every class's shard 1, and so on. A process that
  // runs on one CPU at a time uses one shard of each class, and a class it barely uses touches
  // only the bottom of that shard's stack: packed this way, those bottoms share pages (two
  // classes of 2 KiB shards per page) instead of each class's shards taking a page of their own.
  for (int i = 0; i < ClampShards(shards); ++i) {
    for (uint32_t cl = 1; cl < num_classes; ++cl) {
      if (!caches[cl].AllocateShard(i)) return false;
    }
  }
  return true;
}

void TransferCache::Configure(uint32_t size_class, int shards) {
  central_.Init(size_class);
  num_shards_ = ClampShards(shards);
  // Room for a few batches per shard, bounded in bytes so that large classes do not pin
  // megabytes here. Classes of objects above 4 KiB have no shards: their batches go straight
  // to the central free list. A batch of them is already about kShardByteCap, so a shard held
  // one batch at most and mostly added a lock to try before the central list; and what they
  // held was footprint:
  //  - with 1 MiB per shard the runner's mstress kept 22.6 MB in transfer caches (classes of
  //    50-256 KiB) against 1.2 MB of live data, and peaked at 34 MB against glibc's 22;
  //  - with shards up to 32 KiB objects it peaked at 27.8 MiB, without them above 4 KiB at
  //    25.7, in the same time; a producer handing 6-16 KiB objects to a consumer thread
  //    (alloc_microbenchmark) took 14-32 % less time per object.
  // Below 4 KiB the shards pay: without them for 0.5-4 KiB objects shbench ran 20 % slower.
  if (!HasShards(size_class)) {
    shard_capacity_ = 0;
    return;
  }
  const size_t batch = SizeMap::BatchSize(size_class);
  const size_t size = SizeMap::ClassSize(size_class);
  size_t capacity = 8 * batch;
  if (capacity * size > kShardByteCap) capacity = kShardByteCap / size;
  shard_capacity_ = static_cast<uint32_t>(capacity);
}

bool TransferCache::AllocateShard(int i) {
  if (shard_capacity_ == 0) return true;
  void** storage = static_cast<void**>(MetadataAlloc(sizeof(void*) * shard_capacity_, 64));
  if (storage == nullptr) return false;
  shards_[i].Init(storage, shard_capacity_);
  return true;
}

void TransferCache::Insert(int shard, void* const* batch, int n) {
  if (shard_capacity_ == 0) {
    central_.InsertRange(batch, n);
    return;
  }
  const int home = shard % num_shards_;
  if (shards_[home].Insert(batch, n)) return;
  for (int i = 1; i < num_shards_; ++i) {
    if (shards_[(home + i) % num_shards_].TryInsert(batch, n)) return;
  }
  central_.InsertRange(batch, n);
}

int TransferCache::Remove(int shard, void** batch, int n) {
  if (shard_capacity_ == 0) return central_.RemoveRange(batch, n);
  const int home = shard % num_shards_;
  int got = shards_[home].Remove(batch, n, /*try_lock=*/false);
  for (int i = 1; got == 0 && i < num_shards_; ++i) {
    got = shards_[(home + i) % num_shards_].Remove(batch, n, /*try_lock=*/true);
  }
  // A neighbour that holds objects but was busy is a memcpy-long lock hold away; waiting for
  // it beats the central list's span walk (and new spans while its objects sit idle).
  for (int i = 1; got == 0 && i < num_shards_; ++i) {
    TransferCacheShard& neighbour = shards_[(home + i) % num_shards_];
    if (!neighbour.LooksEmpty()) got = neighbour.Remove(batch, n, /*try_lock=*/false);
  }
  if (got == 0) got = central_.RemoveRange(batch, n);
  return got;
}

size_t TransferCache::FlushToCentral() {
  size_t moved = 0;
  void* batch[64];
  for (int i = 0; i < num_shards_; ++i) {
    for (int got; (got = shards_[i].Remove(batch, 64, /*try_lock=*/false)) > 0;) {
      central_.InsertRange(batch, got);
      moved += static_cast<size_t>(got);
    }
  }
  return moved;
}

size_t TransferCache::cached_objects() const {
  size_t total = 0;
  for (int i = 0; i < num_shards_; ++i) total += shards_[i].count();
  return total;
}

}  // namespace rseqmalloc

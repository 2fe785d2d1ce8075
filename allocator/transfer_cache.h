#ifndef RSEQMALLOC_ALLOCATOR_TRANSFER_CACHE_H_
#define RSEQMALLOC_ALLOCATOR_TRANSFER_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "allocator/central_free_list.h"
#include "allocator/size_classes.h"
#include "allocator/spin_lock.h"

namespace rseqmalloc {

// A bounded stack of free objects of one class, moved in and out in batches: one lock
// acquisition per batch, never per object. Each shard has a cache line of its own: shards
// exist so that CPUs do not contend, and packed shards would share lines (and their locks'
// traffic) with the neighbouring shards that other CPUs use.
class alignas(64) TransferCacheShard {
 public:
  constexpr TransferCacheShard() = default;
  void Init(void** storage, uint32_t capacity) {
    slots_ = storage;
    capacity_ = capacity;
  }
  // All n or nothing; false when there is no room.
  bool Insert(void* const* batch, int n);
  // Like Insert, but gives up (returns false) when the lock is busy.
  bool TryInsert(void* const* batch, int n);
  // Up to n objects; with try_lock, gives up (returns 0) when the lock is busy.
  int Remove(void** batch, int n, bool try_lock);
  uint32_t count() const { return count_; }
  uint32_t capacity() const { return capacity_; }
  // Where the shard's objects are kept (tests of the layout).
  const void* storage() const { return slots_; }
  // Racy peeks, without the lock: for choosing a shard, never for moving objects.
  bool LooksEmpty() const { return __atomic_load_n(&count_, __ATOMIC_RELAXED) == 0; }
  bool LooksFull(int n) const {
    return __atomic_load_n(&count_, __ATOMIC_RELAXED) + static_cast<uint32_t>(n) > capacity_;
  }
  SpinLock& lock() { return lock_; }

 private:
  SpinLock lock_;
  void** slots_ = nullptr;
  uint32_t count_ = 0;
  uint32_t capacity_ = 0;
};

// The transfer cache of one size class: what makes a producer on one CPU and a consumer on
// another cheap. It is sharded (callers pass the shard of their slot), so that threads on
// different CPUs do not share one lock; a shard that runs dry borrows from its neighbours
// before the central free list is asked, and a full shard spills to a neighbour with room
// before the central free list: a neighbour is one short lock away for the next CPU that runs
// dry, the central list is a span walk under a class-wide lock (and may make new spans while
// the spilled objects wait there).
class TransferCache {
 public:
  static constexpr int kMaxShards = 8;
  // The most a shard holds, in bytes (at least a batch, or the class has no shards).
  static constexpr size_t kShardByteCap = size_t{64} << 10;
  // Classes of larger objects have no shards either (see Configure). The class that 4 KiB requests
  // fall in is 4224 bytes, so it is the first without.
  static constexpr size_t kMaxShardedObjectBytes = 4096;
  // Whether the class's batches go through shards (otherwise straight to the central list).
  static bool HasShards(uint32_t size_class);
  constexpr TransferCache() = default;
  // Storage comes from the metadata arena. False when it cannot be had.
  bool Init(uint32_t size_class, int shards);
  // Init of caches[1 .. num_classes-1] (class cl in caches[cl]), with the shards' storage laid
  // out shard by shard across the classes (see the definition for why).
  static bool InitClasses(TransferCache* caches, uint32_t num_classes, int shards);

  void Insert(int shard, void* const* batch, int n);
  int Remove(int shard, void** batch, int n);

  // Moves every object of every shard to the central free list (which returns spans that
  // become empty to the page heap). Returns the number of objects moved.
  size_t FlushToCentral();

  CentralFreeList& central() { return central_; }
  TransferCacheShard& shard(int i) { return shards_[i]; }
  int num_shards() const { return num_shards_; }
  size_t cached_objects() const;

 private:
  static int ClampShards(int shards) {
    return shards < 1 ? 1 : (shards > kMaxShards ? kMaxShards : shards);
  }
  // Everything but the shards' storage: the central list, the shard count and capacity.
  void Configure(uint32_t size_class, int shards);
  // Gives shard i its storage (nothing for a class without shards). False when it cannot.
  bool AllocateShard(int i);

  TransferCacheShard shards_[kMaxShards];
  // 0 until Init. Every member starts zero, so that g_transfer_caches lives in .bss: an
  // initialised member put the array in .data, where reading one class's cache made the kernel's
  // fault-around map the file pages of its neighbours (resident memory in every small program).
  int num_shards_ = 0;
  uint32_t shard_capacity_ = 0;  // objects per shard; 0: batches go to the central list
  CentralFreeList central_;
};

// One transfer cache per size class (index 0 unused).
extern TransferCache g_transfer_caches[kNumClasses];

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_TRANSFER_CACHE_H_

#include "allocator/cpu_cache.h"

#include <errno.h>

#include "allocator/cache_growth.h"
#include "allocator/metadata_arena.h"
#include "allocator/transfer_cache.h"

namespace rseqmalloc {

RSEQMALLOC_CONSTINIT CpuCache g_cpu_cache;

namespace {

void ReturnToTransferCache(void* arg, size_t size_class, void** items, size_t n) {
  const int shard = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  const size_t batch = BatchOf(static_cast<uint32_t>(size_class));
  for (size_t done = 0; done < n;) {
    int chunk = static_cast<int>(n - done < batch ? n - done : batch);
    g_transfer_caches[size_class].Insert(shard, items + done, chunk);
    done += static_cast<size_t>(chunk);
  }
}

}  // namespace

bool CpuCache::Init(size_t budget_bytes) {
  uint16_t max_capacity[kNumClasses];
  max_capacity[0] = 0;
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) max_capacity[cl] = SizeMap::MaxCapacity(cl);
  if (!slab_.Init(kNumClasses, max_capacity)) return false;
  // Metadata memory reads zero: every counter starts at 0 and every last miss at kNoMiss.
  counters_ = static_cast<SlotCounters*>(
      MetadataAlloc(sizeof(SlotCounters) * slab_.NumSlots(), 64));
  last_miss_ = static_cast<Miss*>(MetadataAlloc(slab_.NumSlots() * kLastMissStride, 64));
  if (counters_ == nullptr || last_miss_ == nullptr) return false;
  budget_ = budget_bytes;
  return true;
}

void CpuCache::MaybeGrow(int slot, uint32_t size_class, size_t capacity) {
  const size_t size = SizeMap::ClassSize(size_class);
  const size_t want = ClassGrowthStep(capacity, size_class);
  std::atomic<size_t>& used = counters_[slot].capacity_bytes;
  if (used.load(std::memory_order_relaxed) + want * size > budget_) return;
  // Grow acts on the slot the thread runs on now, which may differ from `slot` after a
  // migration; the budget is an approximate bound either way.
  size_t grown = slab_.Grow(size_class, want);
  used.fetch_add(grown * size, std::memory_order_relaxed);
}

size_t CpuCache::OnMiss(int slot, uint32_t size_class, Miss miss) {
  SlotCounters& counters = counters_[slot];
  (miss == kUnderflow ? counters.underflows : counters.overflows)
      .fetch_add(1, std::memory_order_relaxed);
  Miss& last = last_miss_[static_cast<size_t>(slot) * kLastMissStride + size_class];
  const size_t capacity = slab_.Capacity(slot, size_class);
  const bool grow = capacity < BatchOf(size_class) ||
                    (last != kNoMiss && last != miss);
  last = miss;
  if (!grow || capacity >= SizeMap::MaxCapacity(size_class)) return capacity;
  MaybeGrow(slot, size_class, capacity);
  return slab_.Capacity(slot, size_class);
}

void* CpuCache::Refill(uint32_t size_class, bool* usable) {
  const int slot = slab_.CurrentSlot();
  if (slot < 0) {
    *usable = false;
    return nullptr;
  }
  *usable = true;
  // One object for the caller and what the stack has room for, at most a batch: a class in
  // slow start takes a few objects, not a batch that would sit here unused.
  const size_t capacity = OnMiss(slot, size_class, kUnderflow);
  const int want = static_cast<int>(ClassRefillCount(capacity, size_class));
  void* batch[kMaxBatch];
  const int got = g_transfer_caches[size_class].Remove(slot, batch, want);
  if (got == 0) {
    errno = ENOMEM;
    return nullptr;
  }
  // One object goes to the caller; the rest fill the stack as far as it has room.
  const size_t rest = static_cast<size_t>(got - 1);
  const size_t pushed = rest ? slab_.PushBatch(size_class, batch + 1, rest) : 0;
  if (pushed < rest) {
    // PushBatch takes from the end of the array: what is left is at the front.
    g_transfer_caches[size_class].Insert(slot, batch + 1, static_cast<int>(rest - pushed));
  }
  return batch[0];
}

bool CpuCache::Overflow(uint32_t size_class, void* object) {
  const int slot = slab_.CurrentSlot();
  if (slot < 0) return false;
  OnMiss(slot, size_class, kOverflow);
  if (slab_.Push(size_class, object)) return true;
  void* batch[kMaxBatch + 1];
  const int n = static_cast<int>(
      slab_.PopBatch(size_class, batch, BatchOf(size_class)));
  batch[n] = object;
  g_transfer_caches[size_class].Insert(slot, batch, n + 1);
  return true;
}

void CpuCache::DrainSlot(int slot) {
  if (!slab_.SlotInitialized(slot)) return;  // also rejects slots out of range
  SpinLockHolder hold(&drain_lock_);
  slab_.Drain(slot, ReturnToTransferCache, reinterpret_cast<void*>(intptr_t{slot}));
  counters_[slot].capacity_bytes.store(0, std::memory_order_relaxed);
}

void CpuCache::DrainCurrentSlot() { DrainSlot(slab_.CurrentSlot()); }  // -1: nothing to do

bool CpuCache::HasCounters(int slot) const {
  return counters_ != nullptr && slot >= 0 &&
         static_cast<size_t>(slot) < slab_.NumSlots();
}

uint64_t CpuCache::SlotMisses(int slot) const {
  if (!HasCounters(slot)) return 0;
  return counters_[slot].underflows.load(std::memory_order_relaxed) +
         counters_[slot].overflows.load(std::memory_order_relaxed);
}

uint64_t CpuCache::SumOverSlots(std::atomic<uint64_t> SlotCounters::*counter) const {
  uint64_t sum = 0;
  for (int slot = 0; HasCounters(slot); ++slot) {
    sum += (counters_[slot].*counter).load(std::memory_order_relaxed);
  }
  return sum;
}

uint64_t CpuCache::underflows() const { return SumOverSlots(&SlotCounters::underflows); }

uint64_t CpuCache::overflows() const { return SumOverSlots(&SlotCounters::overflows); }

size_t CpuCache::SlotCapacityBytes(int slot) const {
  return HasCounters(slot) ? counters_[slot].capacity_bytes.load(std::memory_order_relaxed) : 0;
}

size_t CpuCache::SlotBytes(int slot) const {
  if (!slab_.SlotInitialized(slot)) return 0;
  size_t bytes = 0;
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    bytes += slab_.Length(slot, cl) * SizeMap::ClassSize(cl);
  }
  return bytes;
}

}  // namespace rseqmalloc

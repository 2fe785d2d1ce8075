#ifndef RSEQMALLOC_ALLOCATOR_CPU_CACHE_H_
#define RSEQMALLOC_ALLOCATOR_CPU_CACHE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "allocator/size_classes.h"
#include "allocator/spin_lock.h"
#include "percpu/per_cpu_slab.h"

namespace rseqmalloc {

// The per-CPU front end: one stack of free objects per size class in every slot (CPU or mm_cid)
// of the rseq slab. malloc pops and free pushes inside a restartable sequence: no lock, no
// atomic, no fence. The slow paths below run when a stack is empty or full: they move up to a
// batch from or to the transfer cache. A class's capacity starts at zero. Up to one batch it
// grows on every miss, doubling (slow start, allocator/cache_growth.h): a class this slot uses
// now and then holds a few objects, where a whole batch of them (up to 64 KiB, e.g. 32 objects
// of 2 KiB) would sit unused on every CPU. Beyond a batch it grows by a batch each time its
// misses alternate between underflow and overflow (a class that is both allocated and freed
// here, for which a larger stack saves trips to the transfer cache), while the slot's byte budget
// allows. A class that only underflows (a consumer) or only overflows (a producer) gains nothing
// from a deeper stack and keeps one batch.
// What free() reads as the class of every pointer until the allocator is initialised: only
// free(nullptr) (page 0) can legitimately happen then, and it reads class 0.
inline constexpr uint8_t kNoClassesYet[1] = {0};

class alignas(64) CpuCache {
 public:
  constexpr CpuCache() : slab_(kNoClassesYet) {}
  // Reserves the slab. False when rseq cannot be used (the caller falls back).
  bool Init(size_t budget_bytes);

  // The fast paths (inlined rseq critical sections). They fail on an empty/full stack, on a
  // thread that is not registered yet, before Init, and for class 0 (which has no capacity).
  void* Allocate(uint32_t size_class) { return slab_.Pop(size_class); }
  bool TryAllocate(uint32_t size_class, void** object) { return slab_.TryPop(size_class, object); }
  bool Deallocate(uint32_t size_class, void* object) { return slab_.Push(size_class, object); }

  // free()'s class lookup: the pagemap's flat class array is kept on the fast path's cache line.
  // Before set_class_map only page 0 (nullptr) may be looked up.
  void set_class_map(const uint8_t* classes) { slab_.set_client(classes); }
  uint32_t ClassOf(const void* ptr) const {
    return static_cast<const uint8_t*>(slab_.client())[PageIdOf(ptr)];
  }

  // For the allocator's atfork child handler (see PerCpuSlab::AfterForkInChild).
  void AfterForkInChild() { slab_.AfterForkInChild(); }

  // The slow paths. Allocate: nullptr with errno ENOMEM when memory is exhausted. Both return
  // false / nullptr through *usable = false when this thread cannot use the slab at all.
  void* Refill(uint32_t size_class, bool* usable);
  bool Overflow(uint32_t size_class, void* object);

  // Empties every class of a slot into the transfer caches (for release and for tests).
  // Serialised with other drains and with fork() (see drain_lock()).
  void DrainSlot(int slot);
  // Drains the slot the calling thread runs on now (rseqmalloc_flush_cpu_cache).
  void DrainCurrentSlot();
  // Slow-path misses (underflows + overflows) a slot has taken so far: what the background
  // release compares between ticks to find idle slots.
  uint64_t SlotMisses(int slot) const;
  // Summed over the slots (statistics).
  uint64_t underflows() const;
  uint64_t overflows() const;
  bool SlotInitialized(int slot) const { return slab_.SlotInitialized(slot); }
  size_t ClassObjects(int slot, uint32_t size_class) const {
    return slab_.Length(slot, size_class);
  }
  size_t SlotCapacityBytes(int slot) const;
  // How many objects of the class the slot's stack may hold now (racy; tests and statistics).
  size_t ClassCapacity(int slot, uint32_t size_class) const {
    return slab_.Capacity(slot, size_class);
  }
  // The slot the calling thread runs on now, set up if need be; -1 where this thread cannot
  // use the slab. Only for a process whose front end is the per-CPU cache (tests).
  int CurrentSlot() { return slab_.CurrentSlot(); }
  // A drain stops its slot for a moment; a fork() in that moment would leave the slot stopped
  // for good in the child, so the fork handlers hold this lock across fork().
  SpinLock& drain_lock() { return drain_lock_; }
  size_t NumSlots() const { return slab_.NumSlots(); }
  // Bytes of free objects cached in a slot (racy; statistics).
  size_t SlotBytes(int slot) const;
  size_t budget() const { return budget_; }
  void set_budget(size_t bytes) { budget_ = bytes; }

 private:
  enum Miss : uint8_t { kNoMiss, kUnderflow, kOverflow };
  // Whether the per-slot counters exist (Init succeeded) and slot is in range.
  bool HasCounters(int slot) const;
  // Records the miss and, when the rule above says so, grows the class in the current slot.
  // Returns the class's capacity in `slot` afterwards (racy: for sizing a refill).
  size_t OnMiss(int slot, uint32_t size_class, Miss miss);
  // Raises the class's capacity (now `capacity`) in the current slot by the step the rule above
  // gives, if the budget allows.
  void MaybeGrow(int slot, uint32_t size_class, size_t capacity);

  // First member: its first 64 bytes are the line every malloc and free reads.
  percpu::PerCpuSlab slab_;
  SpinLock drain_lock_;
  size_t budget_ = 0;
  // What the slow path counts, a cache line per slot: misses on different CPUs never touch
  // the same line (they did when these were process-wide, and 8 slots shared a line).
  struct alignas(64) SlotCounters {
    std::atomic<uint64_t> underflows;
    std::atomic<uint64_t> overflows;
    std::atomic<size_t> capacity_bytes;  // sum over classes of capacity × class size
  };
  SlotCounters* counters_ = nullptr;
  // One of a slot's counters, summed over the slots.
  uint64_t SumOverSlots(std::atomic<uint64_t> SlotCounters::*counter) const;
  // Per slot and class (slot * kLastMissStride + class): the kind of the last miss. Racy by
  // design: a lost update only delays or advances one growth step. Rows are whole cache lines.
  static constexpr size_t kLastMissStride = (kNumClasses + 63) / 64 * 64;
  Miss* last_miss_ = nullptr;
};

extern CpuCache g_cpu_cache;

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_CPU_CACHE_H_

// A per-slot set of pointer stacks ("classes" 0..num_classes-1), operated on by rseq critical
// sections so that the owning slot's thread pushes and pops with a few loads and one store.
// A slot is a CPU number or an mm_cid (see CurrentRseqStatus().key). Knows nothing about what
// the pointers are.
//
// Memory: one mmap reservation of NumSlots() regions of arch::kRegionBytes (arch/slab_layout.h
// describes a region), starting a few cache lines in (percpu/slab_color.h says why). Regions
// are touched only when their slot is first used (CurrentSlot), so
// resident memory follows the slots actually running. Every key the kernel can hand out
// (cpu_id or mm_cid, both below the number of possible CPUs) has a region, so the fast path
// compares no slot limit.
//
// The fast paths check no slot state: uninitialised and stopped slots refuse them through their
// bounds (see arch/slab_layout.h). The state word (open / uninitialised / initialising / stopped)
// is read by slow paths only.
#ifndef RSEQMALLOC_PERCPU_PER_CPU_SLAB_H_
#define RSEQMALLOC_PERCPU_PER_CPU_SLAB_H_

#include <stddef.h>
#include <stdint.h>

#include <atomic>

#include "arch/rseq_critical_section.h"
#include "arch/slab_layout.h"
#include "percpu/rseq_registration.h"

namespace rseqmalloc {
namespace percpu {

class PerCpuSlab {
 public:
  constexpr PerCpuSlab() = default;
  // client: the initial SlabFastPath::client word (see set_client).
  explicit constexpr PerCpuSlab(const void* client) : fast_{0, 0, nullptr, client} {}
  PerCpuSlab(const PerCpuSlab&) = delete;
  PerCpuSlab& operator=(const PerCpuSlab&) = delete;

  // max_capacity[cl] = most pointers class cl may ever hold in one slot (0: class unused). The
  // sum over classes must stay below ~65000 (16-bit stack indexes). Call after RseqProcessInit:
  // if rseq is unusable then, every fast path of this slab fails forever. Returns false on mmap
  // failure or capacities that do not fit; calling it again after success is a no-op (true).
  bool Init(size_t num_classes, const uint16_t* max_capacity);

  // Fast paths (rseq critical sections, no call, no atomic RMW, no fence). They fail when the
  // slab is disabled, the thread is not registered, the slot is uninitialised or stopped, or
  // the stack is full/empty. cl may be any class below NumClasses() (one with no capacity
  // always fails), so callers need not test for an unused class first.
  bool Push(size_t cl, void* item) { return arch::RseqPush(&fast_, cl, item); }
  bool TryPop(size_t cl, void** item) { return arch::RseqPop(&fast_, cl, item); }
  void* Pop(size_t cl) {
    void* item;
    return TryPop(cl, &item) ? item : nullptr;
  }
  // Pushes up to n items taken from the end of batch; returns how many were pushed.
  size_t PushBatch(size_t cl, void* const* batch, size_t n) {
    return arch::RseqPushBatch(&fast_, cl, batch, n);
  }
  // Pops up to n items into batch[0..k); returns k.
  size_t PopBatch(size_t cl, void** batch, size_t n) {
    return arch::RseqPopBatch(&fast_, cl, batch, n);
  }

  // The word the slab's owner keeps on the fast path's cache line (see SlabFastPath::client).
  // May be set before Init and whether or not Init succeeds.
  void set_client(const void* client) { fast_.client = client; }
  const void* client() const { return fast_.client; }

  // Slow paths (never malloc; may spin/yield on a slot another thread is working on).
  // Makes this thread rseq-ready and its current slot initialised; returns it, or -1.
  int CurrentSlot();
  // Raises class cl's capacity in the current slot by up to want (bounded by max_capacity) as an
  // rseq sequence; returns the capacity added (0 if the slot is stopped/uninitialised or full).
  size_t Grow(size_t cl, size_t want);

  // Remote operations. Slot states are not async-signal-safe (a handler that stops a slot its
  // own thread is stopping would spin), and a fork() while another thread has a slot stopped
  // leaves it stopped in the child: keep Shrink/Drain out of fork with an atfork lock.
  using DrainHandler = void (*)(void* arg, size_t cl, void** items, size_t n);
  // Stop slot, fence, lower class cl's capacity by up to want (items above the new capacity go
  // to drain), restart slot. Returns the capacity removed. drain must not operate on `slot`.
  size_t Shrink(int slot, size_t cl, size_t want, DrainHandler drain, void* arg);
  // Stop slot, fence, empty every class into drain and set all capacities to 0, restart slot.
  void Drain(int slot, DrainHandler drain, void* arg);

  // For the owner's pthread_atfork child handler: a fork() taken while another thread was
  // initialising a slot leaves it "initialising" with nobody left to finish; this finishes it.
  // (Stopped slots are the caller's business: see Shrink/Drain above.)
  void AfterForkInChild();

  // Tests only: stores end as a class bound of an open slot, as a stopper does (0) but without
  // stopping the slot. With 0 it is what a Grow sees when it loads a stopper's end and the slot
  // state only after the stop has ended.
  void SetEndForTesting(int slot, size_t cl, uint16_t end);

  size_t Length(int slot, size_t cl) const;    // racy read
  size_t Capacity(int slot, size_t cl) const;  // racy read
  size_t NumSlots() const { return num_slots_; }
  // true once Init succeeded in a process where rseq is usable: fast paths can succeed.
  bool Active() const { return arch::RseqOffsetAcquire(&fast_) != 0; }
  size_t NumClasses() const { return num_classes_; }
  bool SlotInitialized(int slot) const;
  // Where a class's header is (for tests of the layout).
  const void* HeaderAddressForTesting(int slot, size_t cl) const { return Header(slot, cl); }

 private:
  char* Region(int slot) const { return base_ + (static_cast<size_t>(slot) << arch::kRegionShift); }
  arch::ClassHeader* Header(int slot, size_t cl) const {
    return reinterpret_cast<arch::ClassHeader*>(Region(slot) + arch::ClassHeaderOffset(cl));
  }
  // Where a stopped slot keeps the end bound of each class until it is restarted.
  uint16_t* SavedEnds(int slot) const {
    return reinterpret_cast<uint16_t*>(Region(slot) + saved_ends_offset_);
  }
  bool ValidSlot(int slot) const {
    return base_ != nullptr && slot >= 0 && static_cast<size_t>(slot) < num_slots_;
  }
  void EnsureSlotInitialized(int slot);
  void WriteFreshHeaders(int slot);
  bool StopSlot(int slot);     // false if never initialised or the fence failed
  void ResumeSlot(int slot);

  // First: the line every fast path reads (the object is placed on a 64-byte boundary).
  arch::SlabFastPath fast_{};
  char* base_ = nullptr;
  const uint16_t* begins_ = nullptr;    // per class: first stack word (fixed)
  const uint16_t* max_ends_ = nullptr;  // per class: begin + max capacity (fixed)
  size_t saved_ends_offset_ = 0;
  size_t num_classes_ = 0;
  size_t num_slots_ = 0;
  // Slots being initialised right now (so that AfterForkInChild scans only when one was).
  std::atomic<uint32_t> initializing_{0};
};

namespace internal {
// Test seam: when set, called by the thread that initialises a slot, while the slot is in the
// "initialising" state (lets a test fork at that moment). Slow path only.
extern void (*g_slot_setup_hook)(int slot);
}  // namespace internal

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_PER_CPU_SLAB_H_

// A per-slot set of pointer stacks ("classes" 0..num_classes-1), operated on by rseq critical
// sections so that the owning slot's thread pushes and pops with a few loads and one store.
// A slot is a CPU number or an mm_cid (see CurrentRseqStatus().key). Knows nothing about what
// the pointers are.
//
// Memory: one mmap reservation of NumSlots() regions (arch/slab_layout.h describes a region).
// Regions are touched only when their slot is first used (CurrentSlot), so resident memory
// follows the slots actually running.
#ifndef RSEQMALLOC_PERCPU_PER_CPU_SLAB_H_
#define RSEQMALLOC_PERCPU_PER_CPU_SLAB_H_

#include <stddef.h>
#include <stdint.h>

#include "arch/rseq_critical_section.h"
#include "arch/slab_layout.h"
#include "percpu/rseq_registration.h"

namespace rseqmalloc {
namespace percpu {

class PerCpuSlab {
 public:
  constexpr PerCpuSlab() = default;
  PerCpuSlab(const PerCpuSlab&) = delete;
  PerCpuSlab& operator=(const PerCpuSlab&) = delete;

  // max_capacity[cl] = most pointers class cl may ever hold in one slot (0: class unused). The
  // sum over classes must stay below ~65000 (16-bit stack indexes). Call after RseqProcessInit:
  // if rseq is unusable then, every fast path of this slab fails forever. Returns false on mmap
  // failure or capacities that do not fit; calling it again after success is a no-op (true).
  bool Init(size_t num_classes, const uint16_t* max_capacity);

  // Fast paths (rseq critical sections, no call, no atomic RMW, no fence). They fail when the
  // thread is not registered, the slot is uninitialised or stopped, or the stack is full/empty.
  bool Push(size_t cl, void* item) {
    if (__builtin_expect(!Enabled(), 0)) return false;
    char* rseq = ThreadRseqArea();
    return arch::RseqPush(rseq, rseq + internal::g_slot_key_offset, &geometry_,
                          arch::ClassHeaderOffset(cl), item);
  }
  void* Pop(size_t cl) {
    if (__builtin_expect(!Enabled(), 0)) return nullptr;
    char* rseq = ThreadRseqArea();
    return arch::RseqPop(rseq, rseq + internal::g_slot_key_offset, &geometry_,
                         arch::ClassHeaderOffset(cl));
  }
  // Pushes up to n items taken from the end of batch; returns how many were pushed.
  size_t PushBatch(size_t cl, void* const* batch, size_t n) {
    if (__builtin_expect(!Enabled(), 0)) return 0;
    char* rseq = ThreadRseqArea();
    return arch::RseqPushBatch(rseq, rseq + internal::g_slot_key_offset, &geometry_,
                               arch::ClassHeaderOffset(cl), batch, n);
  }
  // Pops up to n items into batch[0..k); returns k.
  size_t PopBatch(size_t cl, void** batch, size_t n) {
    if (__builtin_expect(!Enabled(), 0)) return 0;
    char* rseq = ThreadRseqArea();
    return arch::RseqPopBatch(rseq, rseq + internal::g_slot_key_offset, &geometry_,
                              arch::ClassHeaderOffset(cl), batch, n);
  }

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

  size_t Length(int slot, size_t cl) const;    // racy read
  size_t Capacity(int slot, size_t cl) const;  // racy read
  size_t NumSlots() const { return num_slots_; }
  // true once Init succeeded in a process where rseq is usable: fast paths can succeed.
  bool Active() const { return Enabled(); }
  size_t NumClasses() const { return num_classes_; }
  bool SlotInitialized(int slot) const;

 private:
  // The critical sections arm rseq_cs (a store into "this thread's rseq area") before anything
  // else, so they must not run before the process policy fixed where that area is: a zero
  // offset would make the store hit the thread control block. slot_limit becomes non-zero only
  // after a successful RseqProcessInit and Init, and never changes again.
  bool Enabled() const { return geometry_.slot_limit != 0; }
  char* Region(int slot) const {
    return geometry_.base + static_cast<size_t>(slot) * geometry_.region_size;
  }
  arch::ClassHeader* Header(int slot, size_t cl) const {
    return reinterpret_cast<arch::ClassHeader*>(Region(slot) + arch::ClassHeaderOffset(cl));
  }
  bool ValidSlot(int slot) const {
    return geometry_.base != nullptr && slot >= 0 && static_cast<size_t>(slot) < num_slots_;
  }
  void EnsureSlotInitialized(int slot);
  bool StopSlot(int slot);     // false if never initialised or the fence failed
  void ResumeSlot(int slot);

  arch::SlabGeometry geometry_{nullptr, 0, 0};
  const arch::ClassHeader* fresh_headers_ = nullptr;  // headers of a newly initialised slot
  size_t num_classes_ = 0;
  size_t num_slots_ = 0;
};

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_PER_CPU_SLAB_H_

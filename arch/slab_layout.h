// The memory layout that the per-arch critical sections operate on. percpu/ decides the sizes;
// this header only fixes where things are, because the assembly hard-codes these offsets.
//
//   reservation = slot 0 region | slot 1 region | ...      (each region_size bytes)
//   region      = u32 state | u32 pad | ClassHeader[num_classes] | pointer stacks ...
//
// Stack positions are counted in 8-byte words from the start of the region, so a class's items
// live at region[begin .. current) and may grow up to region[end) (end <= max_end).
#ifndef RSEQMALLOC_ARCH_SLAB_LAYOUT_H_
#define RSEQMALLOC_ARCH_SLAB_LAYOUT_H_

#include <stddef.h>
#include <stdint.h>

namespace rseqmalloc {
namespace arch {

// What a critical section needs to turn a slot index into a region. Kept together so that the
// assembly can read all three from memory operands of one object.
struct SlabGeometry {
  char* base;             // start of the reservation (nullptr before Init)
  uint64_t region_size;   // bytes per slot
  uint64_t slot_limit;    // slot indexes >= this fail; 0 makes every fast path fail
};

// Region state word (u32 at offset 0). The fast path proceeds only on exactly kSlotReady, so one
// compare rejects untouched (0), initialising and stopped slots.
inline constexpr uint32_t kSlotUninitialized = 0;
inline constexpr uint32_t kSlotReady = 1;
inline constexpr uint32_t kSlotStoppedBit = 2;

inline constexpr size_t kSlotStateOffset = 0;
inline constexpr size_t kClassHeadersOffset = 8;

// One per class, 8 bytes, all fields u16 word indexes inside the region.
struct ClassHeader {
  uint16_t current;   // one past the top item; the fast path's only committing store
  uint16_t end;       // current capacity limit (Grow/Shrink commit this)
  uint16_t begin;     // fixed when the slot is initialised
  uint16_t max_end;   // fixed: begin + max_capacity
};
static_assert(sizeof(ClassHeader) == 8, "the assembly indexes headers by 8");
static_assert(offsetof(ClassHeader, current) == 0 && offsetof(ClassHeader, end) == 2 &&
                  offsetof(ClassHeader, begin) == 4 && offsetof(ClassHeader, max_end) == 6,
              "the assembly hard-codes these offsets");

inline constexpr size_t ClassHeaderOffset(size_t cl) { return kClassHeadersOffset + 8 * cl; }

// Largest region a u16 word index can address.
inline constexpr size_t kMaxRegionWords = 65535;

}  // namespace arch
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ARCH_SLAB_LAYOUT_H_

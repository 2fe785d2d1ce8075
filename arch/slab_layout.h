// The memory layout that the per-arch critical sections operate on. percpu/ decides the sizes;
// this header only fixes where things are, because the assembly hard-codes these offsets.
//
//   reservation = color | slot 0 region | slot 1 region | ... (each 1 << kRegionShift bytes;
//                 the color, below a page, is percpu/slab_color.h's)
//   region      = u32 state | u32 pad | ClassHeader[num_classes] | pointer stacks | saved ends
//
// Stack positions are counted in 8-byte words from the start of the region, so a class's items
// live at region[begin .. current) and may grow up to region[end).
//
// The fast paths read no state word: a slot refuses them through its bounds alone.
//   * untouched region (all zero): current = end = begin = 0, so push (current >= end) and pop
//     (current <= begin) both fail;
//   * a class with no capacity: end = current = begin, both fail again;
//   * a stopped slot (another thread works on it): end = 0 and begin = kStoppedBegin in every
//     class, so both fail whatever current is (current < kStoppedBegin always).
#ifndef RSEQMALLOC_ARCH_SLAB_LAYOUT_H_
#define RSEQMALLOC_ARCH_SLAB_LAYOUT_H_

#include <stddef.h>
#include <stdint.h>

namespace rseqmalloc {
namespace arch {

// Everything a fast path reads besides the slot's own header, on one 64-byte line. The owner of
// the slab keeps it read-mostly; rseq_offset is published last (release) and read first
// (acquire), so a thread that sees it non-zero sees the rest.
struct alignas(64) SlabFastPath {
  intptr_t rseq_offset;  // thread pointer -> this thread's struct rseq; 0: every fast path fails
  intptr_t key_offset;   // thread pointer -> the u32 slot key (cpu_id or mm_cid) in struct rseq
  char* base;            // region of slot s = base + (s << kRegionShift)
  const void* client;    // one pointer the slab's owner wants on this line (not used here)
};
static_assert(offsetof(SlabFastPath, rseq_offset) == 0 && offsetof(SlabFastPath, key_offset) == 8 &&
                  offsetof(SlabFastPath, base) == 16,
              "the assembly reads these fields through memory operands of their own");

// Every fast path starts here. The acquire pairs with the release store that enables the slab:
// a thread that sees a non-zero offset sees the key offset and base written before it (a plain
// load on x86, LDAR on aarch64).
inline intptr_t RseqOffsetAcquire(const SlabFastPath* fp) {
  return __atomic_load_n(&fp->rseq_offset, __ATOMIC_ACQUIRE);
}

// Regions are a fixed power of two, so locating one is a shift, not a multiply: the largest
// region a 16-bit word index can describe (65536 words of 8 bytes).
inline constexpr int kRegionShift = 19;
inline constexpr size_t kRegionBytes = size_t{1} << kRegionShift;

// Region state (u32 at offset 0), read and written by slow paths only.
inline constexpr uint32_t kSlotUninitialized = 0;
inline constexpr uint32_t kSlotOpen = 1;
inline constexpr uint32_t kSlotInitializing = 2;
inline constexpr uint32_t kSlotStopped = 3;

inline constexpr size_t kSlotStateOffset = 0;
inline constexpr size_t kClassHeadersOffset = 8;

// One per class, 8 bytes. current is 32 bits because it is the fast path's loop-carried load and
// commit store (a 16-bit field costs a partial-register merge on every push and pop); the bounds
// fit in 16 bits and are compared with 16-bit memory operands.
struct ClassHeader {
  uint32_t current;  // one past the top item; the fast path's only committing store
  uint16_t end;      // current capacity limit (Grow/Shrink commit this)
  uint16_t begin;    // fixed once the slot is initialised (except while stopped)
};
static_assert(sizeof(ClassHeader) == 8, "the assembly indexes headers by 8");
static_assert(offsetof(ClassHeader, current) == 0 && offsetof(ClassHeader, end) == 4 &&
                  offsetof(ClassHeader, begin) == 6,
              "the assembly hard-codes these offsets");

// begin of every class while its slot is stopped: above any current, so pop always fails.
inline constexpr uint16_t kStoppedBegin = 0xffff;

inline constexpr size_t ClassHeaderOffset(size_t cl) { return kClassHeadersOffset + 8 * cl; }

// Largest stack index (exclusive) a region may use: below kStoppedBegin.
inline constexpr size_t kMaxRegionWords = kStoppedBegin;

}  // namespace arch
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ARCH_SLAB_LAYOUT_H_

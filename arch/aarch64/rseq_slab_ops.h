// aarch64 rseq critical sections over the slab layout of arch/slab_layout.h.
//
// Same skeleton as the x86_64 version (see arch/x86_64/rseq_slab_ops.h for the full story):
// descriptor 3 in __rseq_cs, abort handler 4 in __rseq_failure preceded by the signature word,
// 0 = arm rseq_cs, 1 = start_ip, the store just before 2 = the only commit; Push and Pop are
// `asm goto` and branch to the caller's failure label. Differences that matter here:
//  * ordering: the bound a fast path tests (end for push, begin for pop) is read with LDARH
//    before current. Whoever raises a bound (slot initialisation, a remote thread restarting a
//    stopped slot) writes current and the items first and the bound last with a release store,
//    so a thread that sees the new bound also sees the current and items that go with it. x86
//    gets this ordering for free;
//  * the slab's rseq offset is read with LDAR (RseqOffsetAcquire), pairing with the release that
//    enables the slab, so the key offset and base read after it are never stale;
//  * the signature is emitted with .inst so it has instruction endianness, as glibc expects.
#ifndef RSEQMALLOC_ARCH_AARCH64_RSEQ_SLAB_OPS_H_
#define RSEQMALLOC_ARCH_AARCH64_RSEQ_SLAB_OPS_H_

#include <stddef.h>
#include <stdint.h>

#include "arch/rseq_abi.h"
#include "arch/slab_layout.h"
#include "arch/thread_pointer.h"

namespace rseqmalloc {
namespace arch {

// The "?" section flag puts the descriptor, its pointer and the abort handler in the section
// group of the code around them (see the x86_64 twin of this macro).
// The registration check (cpu_id < 0) runs before arming, outside the critical section, as on
// x86_64 (see there): a registration never goes away once made.
#define RSEQMALLOC_A64_RSEQ_PROLOGUE(FAIL)                                           \
  ".pushsection __rseq_cs, \"aw?\"\n\t"                                              \
  ".balign 32\n\t"                                                                   \
  "3:\n\t"                                                                           \
  ".long 0, 0\n\t"                     /* version, flags */                          \
  ".quad 1f, 2f - 1f, 4f\n\t"          /* start_ip, post_commit_offset, abort_ip */  \
  ".popsection\n\t"                                                                  \
  ".pushsection __rseq_cs_ptr_array, \"aw?\"\n\t"                                    \
  ".quad 3b\n\t"                                                                     \
  ".popsection\n\t"                                                                  \
  ".pushsection __rseq_failure, \"ax?\"\n\t"                                         \
  ".inst " RSEQMALLOC_RSEQ_SIG_ASM "\n\t"                                            \
  "4:\n\t"                             /* abort_ip: restart from 0 (check, re-arm) */ \
  "b 0f\n\t"                                                                         \
  ".popsection\n\t"                                                                  \
  "0:\n\t"                                                                           \
  "ldr %w[t0], [%[rseq], #4]\n\t"      /* cpu_id */                                  \
  "tbnz %w[t0], #31, " FAIL "\n\t"     /* negative: thread not registered */         \
  "adrp %[t0], 3b\n\t"                                                               \
  "add %[t0], %[t0], :lo12:3b\n\t"                                                   \
  "str %[t0], [%[rseq], #8]\n\t"       /* rseq->rseq_cs = &descriptor */             \
  "1:\n\t"                             /* start_ip */

// Leaves the region in %[t0] and region + 8 * cl (header[cl] - 8) in %[h].
#define RSEQMALLOC_A64_RSEQ_FIND_REGION                                              \
  "ldr %w[t0], [%[key]]\n\t"           /* slot = cpu_id or mm_cid, zero-extended */  \
  "add %[t0], %[base], %[t0], lsl %[shift]\n\t"  /* t0 = base + (slot << shift) */   \
  "add %[h], %[t0], %[cl], lsl #3\n\t" /* h = &header[cl] - kClassHeadersOffset */

#define RSEQMALLOC_A64_FAST_PATH_INPUTS(rseq_area, key_field, fp)                    \
  [rseq] "r"(rseq_area), [key] "r"(key_field), [base] "r"((fp)->base),               \
      [shift] "i"(kRegionShift)

inline __attribute__((always_inline)) bool RseqPush(const SlabFastPath* fp, size_t cl,
                                                    void* item) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (__builtin_expect(off == 0, 0)) return false;
  char* tp = ThreadPointer();
  uint64_t t0, h, t2, t3;
  asm volatile goto(
      RSEQMALLOC_A64_RSEQ_PROLOGUE("%l[fail]")
      RSEQMALLOC_A64_RSEQ_FIND_REGION
      "add %[t3], %[h], #12\n\t"          // t3 = &header.end
      "ldarh %w[t3], [%[t3]]\n\t"         // t3 = end (acquire: before current)
      "ldr %w[t2], [%[h], #8]\n\t"        // t2 = current
      "cmp %w[t2], %w[t3]\n\t"
      "b.hs %l[fail]\n\t"                 // full
      "str %[item], [%[t0], %[t2], lsl #3]\n\t"  // region[current] = item
      "add %w[t2], %w[t2], #1\n\t"
      "str %w[t2], [%[h], #8]\n\t"        // COMMIT: header.current = current + 1
      "2:\n\t"
      : [t0] "=&r"(t0), [h] "=&r"(h), [t2] "=&r"(t2), [t3] "=&r"(t3)
      : RSEQMALLOC_A64_FAST_PATH_INPUTS(tp + off, tp + fp->key_offset, fp), [cl] "r"(cl),
        [item] "r"(item)
      : "memory", "cc"
      : fail);
  return true;
fail:
  return false;
}

inline __attribute__((always_inline)) bool RseqPop(const SlabFastPath* fp, size_t cl,
                                                   void** out) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (__builtin_expect(off == 0, 0)) return false;
  char* tp = ThreadPointer();
  uint64_t t0, h, t2, t3;
  void* item;
  asm volatile goto(
      RSEQMALLOC_A64_RSEQ_PROLOGUE("%l[fail]")
      RSEQMALLOC_A64_RSEQ_FIND_REGION
      "add %[t3], %[h], #14\n\t"          // t3 = &header.begin
      "ldarh %w[t3], [%[t3]]\n\t"         // t3 = begin (acquire: before current)
      "ldr %w[t2], [%[h], #8]\n\t"        // t2 = current
      "cmp %w[t2], %w[t3]\n\t"
      "b.ls %l[fail]\n\t"                 // empty
      "sub %w[t2], %w[t2], #1\n\t"
      "ldr %[item], [%[t0], %[t2], lsl #3]\n\t"  // item = region[current - 1]
      "str %w[t2], [%[h], #8]\n\t"        // COMMIT: header.current = current - 1
      "2:\n\t"
      : [t0] "=&r"(t0), [h] "=&r"(h), [t2] "=&r"(t2), [t3] "=&r"(t3), [item] "=&r"(item)
      : RSEQMALLOC_A64_FAST_PATH_INPUTS(tp + off, tp + fp->key_offset, fp), [cl] "r"(cl)
      : "memory", "cc"
      : fail);
  *out = item;
  return true;
fail:
  return false;
}

// Pushes k = min(n, end - current) items taken from batch[n-k .. n); returns k.
inline size_t RseqPushBatch(const SlabFastPath* fp, size_t cl, void* const* batch, size_t n) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (off == 0) return 0;
  char* tp = ThreadPointer();
  uint64_t t0, h, t2, t3, k, src, val;
  asm volatile(
      RSEQMALLOC_A64_RSEQ_PROLOGUE("5f")
      RSEQMALLOC_A64_RSEQ_FIND_REGION
      "add %[t3], %[h], #12\n\t"
      "ldarh %w[k], [%[t3]]\n\t"          // k = end (acquire: before current)
      "ldr %w[t2], [%[h], #8]\n\t"        // t2 = current
      "subs %w[k], %w[k], %w[t2]\n\t"     // k = end - current
      "b.ls 5f\n\t"                       // no room (or stopped)
      "cmp %[k], %[n]\n\t"
      "csel %[k], %[k], %[n], ls\n\t"     // k = min(room, n)
      "cbz %[k], 5f\n\t"
      "sub %[src], %[n], %[k]\n\t"
      "add %[src], %[batch], %[src], lsl #3\n\t"  // src = &batch[n - k]
      "add %[t0], %[t0], %[t2], lsl #3\n\t"       // t0 = &region[current]
      "add %w[t2], %w[t2], %w[k]\n\t"     // t2 = new current
      "mov %[t3], #0\n\t"                 // t3 = i
      "7:\n\t"
      "ldr %[val], [%[src], %[t3], lsl #3]\n\t"
      "str %[val], [%[t0], %[t3], lsl #3]\n\t"
      "add %[t3], %[t3], #1\n\t"
      "cmp %[t3], %[k]\n\t"
      "b.lo 7b\n\t"
      "str %w[t2], [%[h], #8]\n\t"        // COMMIT: header.current += k
      "2:\n\t"
      "b 6f\n\t"
      "5:\n\t"
      "mov %[k], #0\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [h] "=&r"(h), [t2] "=&r"(t2), [t3] "=&r"(t3), [k] "=&r"(k),
        [src] "=&r"(src), [val] "=&r"(val)
      : RSEQMALLOC_A64_FAST_PATH_INPUTS(tp + off, tp + fp->key_offset, fp), [cl] "r"(cl),
        [batch] "r"(batch), [n] "r"(n)
      : "memory", "cc");
  return k;
}

// Pops k = min(n, current - begin) items into batch[0 .. k); returns k.
inline size_t RseqPopBatch(const SlabFastPath* fp, size_t cl, void** batch, size_t n) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (off == 0) return 0;
  char* tp = ThreadPointer();
  uint64_t t0, h, t2, t3, k, val;
  asm volatile(
      RSEQMALLOC_A64_RSEQ_PROLOGUE("5f")
      RSEQMALLOC_A64_RSEQ_FIND_REGION
      "add %[t3], %[h], #14\n\t"
      "ldarh %w[k], [%[t3]]\n\t"          // k = begin (acquire: before current)
      "ldr %w[t2], [%[h], #8]\n\t"        // t2 = current
      "subs %w[k], %w[t2], %w[k]\n\t"     // k = current - begin
      "b.ls 5f\n\t"                       // empty (or stopped)
      "cmp %[k], %[n]\n\t"
      "csel %[k], %[k], %[n], ls\n\t"     // k = min(held, n)
      "cbz %[k], 5f\n\t"
      "sub %w[t2], %w[t2], %w[k]\n\t"     // t2 = new current
      "add %[t0], %[t0], %[t2], lsl #3\n\t"  // t0 = &region[new current]
      "mov %[t3], #0\n\t"                 // t3 = i
      "7:\n\t"
      "ldr %[val], [%[t0], %[t3], lsl #3]\n\t"
      "str %[val], [%[batch], %[t3], lsl #3]\n\t"
      "add %[t3], %[t3], #1\n\t"
      "cmp %[t3], %[k]\n\t"
      "b.lo 7b\n\t"
      "str %w[t2], [%[h], #8]\n\t"        // COMMIT: header.current -= k
      "2:\n\t"
      "b 6f\n\t"
      "5:\n\t"
      "mov %[k], #0\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [h] "=&r"(h), [t2] "=&r"(t2), [t3] "=&r"(t3), [k] "=&r"(k),
        [val] "=&r"(val)
      : RSEQMALLOC_A64_FAST_PATH_INPUTS(tp + off, tp + fp->key_offset, fp), [cl] "r"(cl),
        [batch] "r"(batch), [n] "r"(n)
      : "memory", "cc");
  return k;
}

// Raises header.end by k = min(want, max_end - end); returns k. Reads the slot state inside the
// critical section (acquire) and fails unless the slot is open, so it cannot undo a stop. end
// is loaded (acquire) before the state, as on x86_64 (see there): a Grow that sees the
// stopper's end = 0 also sees its mark, or fails on the zero itself when the stop has ended by
// the time it loads the state.
inline size_t RseqGrow(const SlabFastPath* fp, size_t cl, size_t max_end, size_t want) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (off == 0) return 0;
  char* tp = ThreadPointer();
  uint64_t t0, h, t2, k;
  asm volatile(
      RSEQMALLOC_A64_RSEQ_PROLOGUE("5f")
      RSEQMALLOC_A64_RSEQ_FIND_REGION
      "add %[k], %[h], #12\n\t"           // k = &header.end (scratch; ldarh takes no offset)
      "ldarh %w[t2], [%[k]]\n\t"          // t2 = end, acquire: ordered before the state load
      "cbz %w[t2], 5f\n\t"                // end = 0: stopped (see x86_64 for why this check)
      "ldar %w[k], [%[t0]]\n\t"           // state, acquire
      "cmp %w[k], %[open]\n\t"
      "b.ne 5f\n\t"                       // not open: stopped or initialising
      "subs %[k], %[max_end], %[t2]\n\t"  // k = headroom
      "b.ls 5f\n\t"
      "cmp %[k], %[want]\n\t"
      "csel %[k], %[k], %[want], ls\n\t"  // k = min(headroom, want)
      "cbz %[k], 5f\n\t"
      "add %w[t2], %w[t2], %w[k]\n\t"
      "strh %w[t2], [%[h], #12]\n\t"      // COMMIT: header.end += k
      "2:\n\t"
      "b 6f\n\t"
      "5:\n\t"
      "mov %[k], #0\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [h] "=&r"(h), [t2] "=&r"(t2), [k] "=&r"(k)
      : RSEQMALLOC_A64_FAST_PATH_INPUTS(tp + off, tp + fp->key_offset, fp), [cl] "r"(cl),
        [max_end] "r"(max_end), [want] "r"(want), [open] "i"(kSlotOpen)
      : "memory", "cc");
  return k;
}

#undef RSEQMALLOC_A64_FAST_PATH_INPUTS
#undef RSEQMALLOC_A64_RSEQ_FIND_REGION
#undef RSEQMALLOC_A64_RSEQ_PROLOGUE

}  // namespace arch
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ARCH_AARCH64_RSEQ_SLAB_OPS_H_

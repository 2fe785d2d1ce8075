// aarch64 rseq critical sections over the slab layout of arch/slab_layout.h.
//
// Same skeleton as the x86_64 version (see arch/x86_64/rseq_slab_ops.h for the full story):
// descriptor 3 in __rseq_cs, abort handler 4 in __rseq_failure preceded by the signature word,
// 0 = arm rseq_cs, 1 = start_ip, the store just before 2 = the only commit, 5 = failure exit.
// Differences that matter here:
//  * the slot state is read with LDAR so that the header loads that follow cannot be satisfied
//    before it (a remote Shrink/Drain releases the slot with a store-release after rewriting the
//    headers; x86 gets this ordering for free);
//  * the signature is emitted with .inst so it has instruction endianness, as glibc expects.
#ifndef RSEQMALLOC_ARCH_AARCH64_RSEQ_SLAB_OPS_H_
#define RSEQMALLOC_ARCH_AARCH64_RSEQ_SLAB_OPS_H_

#include <stddef.h>
#include <stdint.h>

#include "arch/rseq_abi.h"
#include "arch/slab_layout.h"

namespace rseqmalloc {
namespace arch {

// The "?" section flag puts the descriptor, its pointer and the abort handler in the section
// group of the code around them (see the x86_64 twin of this macro).
#define RSEQMALLOC_A64_RSEQ_PROLOGUE                                                 \
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
  "4:\n\t"                             /* abort_ip: restart from the arming store */ \
  "b 0f\n\t"                                                                         \
  ".popsection\n\t"                                                                  \
  "0:\n\t"                                                                           \
  "adrp %[t0], 3b\n\t"                                                               \
  "add %[t0], %[t0], :lo12:3b\n\t"                                                   \
  "str %[t0], [%[rseq], #8]\n\t"       /* rseq->rseq_cs = &descriptor */             \
  "1:\n\t"                             /* start_ip */

// Leaves the region in %[t0] and &header[cl] in %[t1]; branches to 5f to fail.
#define RSEQMALLOC_A64_RSEQ_FIND_HEADER                                              \
  "ldr %w[t0], [%[rseq], #4]\n\t"      /* cpu_id */                                  \
  "tbnz %w[t0], #31, 5f\n\t"           /* negative: thread not registered */         \
  "ldr %w[t0], [%[key]]\n\t"           /* slot = cpu_id or mm_cid, zero-extended */  \
  "ldr %[t1], %[limit]\n\t"                                                          \
  "cmp %[t0], %[t1]\n\t"                                                             \
  "b.hs 5f\n\t"                        /* slot >= slot_limit (0 when disabled) */    \
  "ldr %[t1], %[rsize]\n\t"                                                          \
  "ldr %[t2], %[base]\n\t"                                                           \
  "madd %[t0], %[t0], %[t1], %[t2]\n\t" /* t0 = base + slot * region_size */         \
  "ldar %w[t1], [%[t0]]\n\t"           /* state, acquire */                          \
  "cmp %w[t1], #1\n\t"                                                               \
  "b.ne 5f\n\t"                        /* not exactly kSlotReady */                  \
  "add %[t1], %[t0], %[hoff]\n\t"      /* t1 = &header[cl] */

#define RSEQMALLOC_A64_GEOMETRY_INPUTS(g) \
  [base] "m"((g)->base), [rsize] "m"((g)->region_size), [limit] "m"((g)->slot_limit)

inline bool RseqPush(char* rseq, const char* key, const SlabGeometry* g, size_t hoff,
                     void* item) {
  uint64_t t0, t1, t2, t3, res;
  asm volatile(
      RSEQMALLOC_A64_RSEQ_PROLOGUE
      RSEQMALLOC_A64_RSEQ_FIND_HEADER
      "ldrh %w[t2], [%[t1]]\n\t"          // t2 = current
      "ldrh %w[t3], [%[t1], #2]\n\t"      // t3 = end
      "cmp %w[t2], %w[t3]\n\t"
      "b.hs 5f\n\t"                       // full
      "str %[item], [%[t0], %[t2], lsl #3]\n\t"  // region[current] = item
      "add %w[t2], %w[t2], #1\n\t"
      "strh %w[t2], [%[t1]]\n\t"          // COMMIT: header.current = current + 1
      "2:\n\t"
      "mov %[res], #1\n\t"
      "b 6f\n\t"
      "5:\n\t"
      "mov %[res], #0\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [res] "=&r"(res)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "r"(hoff), [item] "r"(item),
        RSEQMALLOC_A64_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return res != 0;
}

inline void* RseqPop(char* rseq, const char* key, const SlabGeometry* g, size_t hoff) {
  uint64_t t0, t1, t2, t3;
  void* res;
  asm volatile(
      RSEQMALLOC_A64_RSEQ_PROLOGUE
      RSEQMALLOC_A64_RSEQ_FIND_HEADER
      "ldrh %w[t2], [%[t1]]\n\t"          // t2 = current
      "ldrh %w[t3], [%[t1], #4]\n\t"      // t3 = begin
      "cmp %w[t2], %w[t3]\n\t"
      "b.ls 5f\n\t"                       // empty
      "sub %w[t2], %w[t2], #1\n\t"
      "ldr %[res], [%[t0], %[t2], lsl #3]\n\t"  // res = region[current - 1]
      "strh %w[t2], [%[t1]]\n\t"          // COMMIT: header.current = current - 1
      "2:\n\t"
      "b 6f\n\t"
      "5:\n\t"
      "mov %[res], #0\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [res] "=&r"(res)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "r"(hoff), RSEQMALLOC_A64_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return res;
}

// Pushes k = min(n, end - current) items taken from batch[n-k .. n); returns k.
inline size_t RseqPushBatch(char* rseq, const char* key, const SlabGeometry* g, size_t hoff,
                            void* const* batch, size_t n) {
  uint64_t t0, t1, t2, t3, k, src, val;
  asm volatile(
      RSEQMALLOC_A64_RSEQ_PROLOGUE
      RSEQMALLOC_A64_RSEQ_FIND_HEADER
      "ldrh %w[t2], [%[t1]]\n\t"          // t2 = current
      "ldrh %w[k], [%[t1], #2]\n\t"       // k = end
      "subs %w[k], %w[k], %w[t2]\n\t"     // k = end - current
      "b.ls 5f\n\t"                       // no room
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
      "strh %w[t2], [%[t1]]\n\t"          // COMMIT: header.current += k
      "2:\n\t"
      "b 6f\n\t"
      "5:\n\t"
      "mov %[k], #0\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [k] "=&r"(k),
        [src] "=&r"(src), [val] "=&r"(val)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "r"(hoff), [batch] "r"(batch), [n] "r"(n),
        RSEQMALLOC_A64_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return k;
}

// Pops k = min(n, current - begin) items into batch[0 .. k); returns k.
inline size_t RseqPopBatch(char* rseq, const char* key, const SlabGeometry* g, size_t hoff,
                           void** batch, size_t n) {
  uint64_t t0, t1, t2, t3, k, val;
  asm volatile(
      RSEQMALLOC_A64_RSEQ_PROLOGUE
      RSEQMALLOC_A64_RSEQ_FIND_HEADER
      "ldrh %w[t2], [%[t1]]\n\t"          // t2 = current
      "ldrh %w[k], [%[t1], #4]\n\t"       // k = begin
      "subs %w[k], %w[t2], %w[k]\n\t"     // k = current - begin
      "b.ls 5f\n\t"                       // empty
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
      "strh %w[t2], [%[t1]]\n\t"          // COMMIT: header.current -= k
      "2:\n\t"
      "b 6f\n\t"
      "5:\n\t"
      "mov %[k], #0\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [k] "=&r"(k),
        [val] "=&r"(val)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "r"(hoff), [batch] "r"(batch), [n] "r"(n),
        RSEQMALLOC_A64_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return k;
}

// Raises header.end by k = min(want, max_end - end); returns k.
inline size_t RseqGrow(char* rseq, const char* key, const SlabGeometry* g, size_t hoff,
                       size_t want) {
  uint64_t t0, t1, t2, k;
  asm volatile(
      RSEQMALLOC_A64_RSEQ_PROLOGUE
      RSEQMALLOC_A64_RSEQ_FIND_HEADER
      "ldrh %w[t2], [%[t1], #2]\n\t"      // t2 = end
      "ldrh %w[k], [%[t1], #6]\n\t"       // k = max_end
      "subs %w[k], %w[k], %w[t2]\n\t"     // k = headroom
      "b.ls 5f\n\t"
      "cmp %[k], %[want]\n\t"
      "csel %[k], %[k], %[want], ls\n\t"  // k = min(headroom, want)
      "cbz %[k], 5f\n\t"
      "add %w[t2], %w[t2], %w[k]\n\t"
      "strh %w[t2], [%[t1], #2]\n\t"      // COMMIT: header.end += k
      "2:\n\t"
      "b 6f\n\t"
      "5:\n\t"
      "mov %[k], #0\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [k] "=&r"(k)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "r"(hoff), [want] "r"(want),
        RSEQMALLOC_A64_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return k;
}

#undef RSEQMALLOC_A64_GEOMETRY_INPUTS
#undef RSEQMALLOC_A64_RSEQ_FIND_HEADER
#undef RSEQMALLOC_A64_RSEQ_PROLOGUE

}  // namespace arch
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ARCH_AARCH64_RSEQ_SLAB_OPS_H_

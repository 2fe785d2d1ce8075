// x86_64 rseq critical sections over the slab layout of arch/slab_layout.h.
//
// Every operation has the same skeleton (compare the kernel selftests' rseq-x86.h):
//   descriptor 3:  struct rseq_cs {version 0, flags 0, start_ip = 1f, post_commit_offset = 2f-1f,
//                  abort_ip = 4f}, 32-byte aligned, in section __rseq_cs (its address also goes to
//                  __rseq_cs_ptr_array so tools can find every critical section);
//   abort 4:       in section __rseq_failure, preceded by the 4-byte signature the kernel checks
//                  (the three bytes before it make "nopl 0x53053053(%rip)" so disassemblers stay in
//                  sync); it just jumps back to 0 and retries from scratch;
//   0:             arm: rseq->rseq_cs = &descriptor (outside the range, so an abort re-arms);
//   1: ... 2:      the critical section; the store just before 2 is the single commit;
//   5:             failure exit (outside the range), result 0.
// Inputs are never modified, so the sequence can be restarted at 0 any number of times.
// Nothing here writes to the rseq area except rseq_cs (offset 8).
#ifndef RSEQMALLOC_ARCH_X86_64_RSEQ_SLAB_OPS_H_
#define RSEQMALLOC_ARCH_X86_64_RSEQ_SLAB_OPS_H_

#include <stddef.h>
#include <stdint.h>

#include "arch/rseq_abi.h"
#include "arch/slab_layout.h"

namespace rseqmalloc {
namespace arch {

// Descriptor, abort handler and arming. The "?" section flag puts the descriptor, its pointer
// and the abort handler in the section group of the code around them: when that code is an
// inline C++ function emitted in several objects (a COMDAT group), the linker keeps or discards
// them together with the copy of the function they belong to.
// Uses %[t0] as scratch.
#define RSEQMALLOC_X86_RSEQ_PROLOGUE                                                 \
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
  ".byte 0x0f, 0x1f, 0x05\n\t"                                                       \
  ".long " RSEQMALLOC_RSEQ_SIG_ASM "\n\t"                                            \
  "4:\n\t"                             /* abort_ip: restart from the arming store */ \
  "jmp 0f\n\t"                                                                       \
  ".popsection\n\t"                                                                  \
  "0:\n\t"                                                                           \
  "leaq 3b(%%rip), %[t0]\n\t"                                                        \
  "movq %[t0], 8(%[rseq])\n\t"         /* rseq->rseq_cs = &descriptor */             \
  "1:\n\t"                             /* start_ip */

// Inside the critical section: validates the thread and slot, leaves the region in %[t0] and
// the class header address in %[t1]. Jumps to 5f on any reason to fail.
#define RSEQMALLOC_X86_RSEQ_FIND_HEADER                                              \
  "movl 4(%[rseq]), %k[t0]\n\t"        /* cpu_id; negative = thread not registered */\
  "testl %k[t0], %k[t0]\n\t"                                                         \
  "js 5f\n\t"                                                                        \
  "movl (%[key]), %k[t0]\n\t"          /* slot = cpu_id or mm_cid, zero-extended */  \
  "cmpq %[limit], %[t0]\n\t"                                                         \
  "jae 5f\n\t"                         /* slot >= slot_limit (0 when disabled) */    \
  "imulq %[rsize], %[t0]\n\t"                                                        \
  "addq %[base], %[t0]\n\t"            /* t0 = region of this slot */                \
  "cmpl $1, (%[t0])\n\t"               /* state must be exactly kSlotReady */        \
  "jne 5f\n\t"                                                                       \
  "movq %[hoff], %[t1]\n\t"                                                          \
  "addq %[t0], %[t1]\n\t"              /* t1 = &header[cl] */

#define RSEQMALLOC_X86_GEOMETRY_INPUTS(g) \
  [base] "m"((g)->base), [rsize] "m"((g)->region_size), [limit] "m"((g)->slot_limit)

inline bool RseqPush(char* rseq, const char* key, const SlabGeometry* g, size_t hoff,
                     void* item) {
  uint64_t t0, t1, t2, res;
  asm volatile(
      RSEQMALLOC_X86_RSEQ_PROLOGUE
      RSEQMALLOC_X86_RSEQ_FIND_HEADER
      "movzwl (%[t1]), %k[t2]\n\t"       // t2 = current
      "cmpw 2(%[t1]), %w[t2]\n\t"        // current >= end: full
      "jae 5f\n\t"
      "movq %[item], (%[t0],%[t2],8)\n\t"  // region[current] = item (invisible until commit)
      "incl %k[t2]\n\t"
      "movw %w[t2], (%[t1])\n\t"         // COMMIT: header.current = current + 1
      "2:\n\t"
      "movl $1, %k[res]\n\t"
      "jmp 6f\n\t"
      "5:\n\t"
      "xorl %k[res], %k[res]\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [res] "=&r"(res)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "rm"(hoff), [item] "r"(item),
        RSEQMALLOC_X86_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return res != 0;
}

inline void* RseqPop(char* rseq, const char* key, const SlabGeometry* g, size_t hoff) {
  uint64_t t0, t1, t2;
  void* res;
  asm volatile(
      RSEQMALLOC_X86_RSEQ_PROLOGUE
      RSEQMALLOC_X86_RSEQ_FIND_HEADER
      "movzwl (%[t1]), %k[t2]\n\t"       // t2 = current
      "cmpw 4(%[t1]), %w[t2]\n\t"        // current <= begin: empty
      "jbe 5f\n\t"
      "movq -8(%[t0],%[t2],8), %[res]\n\t"  // res = region[current - 1]
      "decl %k[t2]\n\t"
      "movw %w[t2], (%[t1])\n\t"         // COMMIT: header.current = current - 1
      "2:\n\t"
      "jmp 6f\n\t"
      "5:\n\t"
      "xorl %k[res], %k[res]\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [res] "=&r"(res)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "rm"(hoff), RSEQMALLOC_X86_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return res;
}

// Pushes k = min(n, end - current) items taken from batch[n-k .. n); returns k.
inline size_t RseqPushBatch(char* rseq, const char* key, const SlabGeometry* g, size_t hoff,
                            void* const* batch, size_t n) {
  uint64_t t0, t1, t2, k, src, dst, val;
  asm volatile(
      RSEQMALLOC_X86_RSEQ_PROLOGUE
      RSEQMALLOC_X86_RSEQ_FIND_HEADER
      "movzwl (%[t1]), %k[t2]\n\t"       // t2 = current
      "movzwl 2(%[t1]), %k[k]\n\t"       // k = end
      "subl %k[t2], %k[k]\n\t"           // k = end - current (room)
      "jbe 5f\n\t"                       // no room (or corrupt header): fail
      "cmpq %[n], %[k]\n\t"
      "cmovaq %[n], %[k]\n\t"            // k = min(room, n)
      "testq %[k], %[k]\n\t"
      "jz 5f\n\t"
      "movq %[n], %[src]\n\t"
      "subq %[k], %[src]\n\t"
      "shlq $3, %[src]\n\t"
      "addq %[batch], %[src]\n\t"        // src = &batch[n - k]
      "leaq (%[t0],%[t2],8), %[dst]\n\t"  // dst = &region[current]
      "addl %k[k], %k[t2]\n\t"           // t2 = new current
      "xorl %k[t0], %k[t0]\n\t"          // t0 = i (region no longer needed)
      "7:\n\t"
      "movq (%[src],%[t0],8), %[val]\n\t"
      "movq %[val], (%[dst],%[t0],8)\n\t"
      "incq %[t0]\n\t"
      "cmpq %[k], %[t0]\n\t"
      "jb 7b\n\t"
      "movw %w[t2], (%[t1])\n\t"         // COMMIT: header.current += k
      "2:\n\t"
      "jmp 6f\n\t"
      "5:\n\t"
      "xorl %k[k], %k[k]\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [k] "=&r"(k), [src] "=&r"(src),
        [dst] "=&r"(dst), [val] "=&r"(val)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "rm"(hoff), [batch] "rm"(batch),
        [n] "rm"(n), RSEQMALLOC_X86_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return k;
}

// Pops k = min(n, current - begin) items into batch[0 .. k); returns k. batch[0] receives the
// deepest of the popped items, batch[k-1] the former top.
inline size_t RseqPopBatch(char* rseq, const char* key, const SlabGeometry* g, size_t hoff,
                           void** batch, size_t n) {
  uint64_t t0, t1, t2, k, src, dst, val;
  asm volatile(
      RSEQMALLOC_X86_RSEQ_PROLOGUE
      RSEQMALLOC_X86_RSEQ_FIND_HEADER
      "movzwl (%[t1]), %k[t2]\n\t"       // t2 = current
      "movzwl 4(%[t1]), %k[k]\n\t"       // k = begin
      "negl %k[k]\n\t"
      "addl %k[t2], %k[k]\n\t"           // k = current - begin (items held)
      "jle 5f\n\t"                       // empty (or corrupt header): fail
      "cmpq %[n], %[k]\n\t"
      "cmovaq %[n], %[k]\n\t"            // k = min(held, n)
      "testq %[k], %[k]\n\t"
      "jz 5f\n\t"
      "subl %k[k], %k[t2]\n\t"           // t2 = new current
      "leaq (%[t0],%[t2],8), %[src]\n\t"  // src = &region[new current]
      "movq %[batch], %[dst]\n\t"
      "xorl %k[t0], %k[t0]\n\t"          // t0 = i
      "7:\n\t"
      "movq (%[src],%[t0],8), %[val]\n\t"
      "movq %[val], (%[dst],%[t0],8)\n\t"
      "incq %[t0]\n\t"
      "cmpq %[k], %[t0]\n\t"
      "jb 7b\n\t"
      "movw %w[t2], (%[t1])\n\t"         // COMMIT: header.current -= k
      "2:\n\t"
      "jmp 6f\n\t"
      "5:\n\t"
      "xorl %k[k], %k[k]\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [k] "=&r"(k), [src] "=&r"(src),
        [dst] "=&r"(dst), [val] "=&r"(val)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "rm"(hoff), [batch] "rm"(batch),
        [n] "rm"(n), RSEQMALLOC_X86_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return k;
}

// Raises header.end by k = min(want, max_end - end); returns k.
inline size_t RseqGrow(char* rseq, const char* key, const SlabGeometry* g, size_t hoff,
                       size_t want) {
  uint64_t t0, t1, t2, k;
  asm volatile(
      RSEQMALLOC_X86_RSEQ_PROLOGUE
      RSEQMALLOC_X86_RSEQ_FIND_HEADER
      "movzwl 2(%[t1]), %k[t2]\n\t"      // t2 = end
      "movzwl 6(%[t1]), %k[k]\n\t"       // k = max_end
      "subl %k[t2], %k[k]\n\t"           // k = max_end - end (headroom)
      "jbe 5f\n\t"
      "cmpq %[want], %[k]\n\t"
      "cmovaq %[want], %[k]\n\t"         // k = min(headroom, want)
      "testq %[k], %[k]\n\t"
      "jz 5f\n\t"
      "addl %k[k], %k[t2]\n\t"
      "movw %w[t2], 2(%[t1])\n\t"        // COMMIT: header.end += k
      "2:\n\t"
      "jmp 6f\n\t"
      "5:\n\t"
      "xorl %k[k], %k[k]\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [k] "=&r"(k)
      : [rseq] "r"(rseq), [key] "r"(key), [hoff] "rm"(hoff), [want] "rm"(want),
        RSEQMALLOC_X86_GEOMETRY_INPUTS(g)
      : "memory", "cc");
  return k;
}

#undef RSEQMALLOC_X86_GEOMETRY_INPUTS
#undef RSEQMALLOC_X86_RSEQ_FIND_HEADER
#undef RSEQMALLOC_X86_RSEQ_PROLOGUE

}  // namespace arch
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ARCH_X86_64_RSEQ_SLAB_OPS_H_

// x86_64 rseq critical sections over the slab layout of arch/slab_layout.h.
//
// Every operation has the same skeleton (compare the kernel selftests' rseq-x86.h):
//   descriptor 3:  struct rseq_cs {version 0, flags 0, start_ip = 1f, post_commit_offset = 2f-1f,
//                  abort_ip = 4f}, 32-byte aligned, in section __rseq_cs (its address also goes to
//                  __rseq_cs_ptr_array so tools can find every critical section);
//   abort 4:       in section __rseq_failure, preceded by the 4-byte signature the kernel checks
//                  (the three bytes before it make "nopl 0x53053053(%rip)" so disassemblers stay in
//                  sync); it just jumps back to 0 and retries from scratch;
//   0:             check cpu_id >= 0, then arm: rseq->rseq_cs = &descriptor (outside the range,
//                  so an abort re-arms);
//   1: ... 2:      the critical section; the store just before 2 is the single commit.
// The rseq area is reached %fs-relative (%fs:offset(%reg)): no load of the thread pointer.
// Ordering: every operation loads the bound it tests (end for pushes, begin for pops) before
// current. Whoever raises a bound (slot setup, a remote thread restarting a stopped slot) stores
// current and the items first and the bound last, and x86 keeps loads in order: a sequence that
// sees the new bound sees the current that goes with it. (Loading current first let a pop that
// straddled a restart see the old current with the restored begin: a duplicated item.)
// Push and Pop are `asm goto`: failure jumps straight to the caller's slow path, so no result
// register is materialised and re-tested. Inputs are never modified, so the sequence can be
// restarted at 0 any number of times. Nothing here writes to the rseq area except rseq_cs.
#ifndef RSEQMALLOC_ARCH_X86_64_RSEQ_SLAB_OPS_H_
#define RSEQMALLOC_ARCH_X86_64_RSEQ_SLAB_OPS_H_

#include <stddef.h>
#include <stdint.h>

#include "arch/rseq_abi.h"
#include "arch/slab_layout.h"

namespace rseqmalloc {
namespace arch {

// Descriptor, abort handler, registration check and arming. The "?" section flag puts the descriptor, its pointer
// and the abort handler in the section group of the code around them: when that code is an
// inline C++ function emitted in several objects (a COMDAT group), the linker keeps or discards
// them together with the copy of the function they belong to. Uses %[t0] as scratch.
//
// The registration check (cpu_id < 0: this thread has no registration yet) comes before the
// arming store, outside the critical section: a registration never goes away once made, so the
// answer cannot change under us. cpu_id is loaded into a register and tested (test+js fuse):
// a compare of the memory operand with an immediate measured ~0.3 ns per malloc+free pair
// slower on the AMD development machine.
#define RSEQMALLOC_X86_RSEQ_PROLOGUE(FAIL)                                           \
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
  "4:\n\t"                             /* abort_ip: restart from 0 (check, re-arm) */ \
  "jmp 0f\n\t"                                                                       \
  ".popsection\n\t"                                                                  \
  "0:\n\t"                                                                           \
  "movl %%fs:4(%[rseq]), %k[t0]\n\t"   /* cpu_id */                                  \
  "testl %k[t0], %k[t0]\n\t"                                                         \
  "js " FAIL "\n\t"                    /* negative: this thread is not registered */ \
  "leaq 3b(%%rip), %[t0]\n\t"                                                        \
  "movq %[t0], %%fs:8(%[rseq])\n\t"    /* rseq->rseq_cs = &descriptor */             \
  "1:\n\t"                             /* start_ip */

// Inside the critical section: leaves this slot's region in %[t0].
#define RSEQMALLOC_X86_RSEQ_FIND_REGION                                              \
  "movl %%fs:(%[key]), %k[t0]\n\t"     /* slot = cpu_id or mm_cid, zero-extended */  \
  "shlq %[shift], %[t0]\n\t"                                                         \
  "addq %[base], %[t0]\n\t"            /* t0 = base + (slot << kRegionShift) */

#define RSEQMALLOC_X86_FAST_PATH_INPUTS(fp, off)                                     \
  [rseq] "r"(off), [key] "r"((fp)->key_offset), [base] "m"((fp)->base),              \
      [shift] "i"(kRegionShift)

// Offsets of class cl's header fields from the region, as (region, cl, 8) displacements.
#define RSEQMALLOC_X86_CURRENT "8"   /* kClassHeadersOffset + offsetof(current) */
#define RSEQMALLOC_X86_END "12"      /* kClassHeadersOffset + offsetof(end) */
#define RSEQMALLOC_X86_BEGIN "14"    /* kClassHeadersOffset + offsetof(begin) */

// Pushes item on class cl of this thread's slot; false if the stack is full, the slot is
// stopped or uninitialised, the thread is not registered or the slab is disabled.
inline __attribute__((always_inline)) bool RseqPush(const SlabFastPath* fp, size_t cl,
                                                    void* item) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (__builtin_expect(off == 0, 0)) return false;
  uint64_t t0, t1, t2;
  asm volatile goto(
      RSEQMALLOC_X86_RSEQ_PROLOGUE("%l[fail]")
      RSEQMALLOC_X86_RSEQ_FIND_REGION
      "movzwl " RSEQMALLOC_X86_END "(%[t0],%[cl],8), %k[t2]\n\t"   // t2 = end (first: below)
      "movl " RSEQMALLOC_X86_CURRENT "(%[t0],%[cl],8), %k[t1]\n\t"  // t1 = current
      "cmpl %k[t2], %k[t1]\n\t"         // current >= end: full
      "jae %l[fail]\n\t"
      "movq %[item], (%[t0],%[t1],8)\n\t"  // region[current] = item (invisible until commit)
      "incl %k[t1]\n\t"
      "movl %k[t1], " RSEQMALLOC_X86_CURRENT "(%[t0],%[cl],8)\n\t"  // COMMIT: current + 1
      "2:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)
      : RSEQMALLOC_X86_FAST_PATH_INPUTS(fp, off), [cl] "r"(cl), [item] "r"(item)
      : "memory", "cc"
      : fail);
  return true;
fail:
  return false;
}

// Pops from class cl of this thread's slot into *out; false (and *out untouched) on any of the
// failures of RseqPush. A bool rather than a nullable pointer so that the caller's test of the
// result folds into the asm goto's two exits instead of re-testing the item.
inline __attribute__((always_inline)) bool RseqPop(const SlabFastPath* fp, size_t cl,
                                                   void** out) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (__builtin_expect(off == 0, 0)) return false;
  uint64_t t0, t1, t2;
  asm volatile goto(
      RSEQMALLOC_X86_RSEQ_PROLOGUE("%l[fail]")
      RSEQMALLOC_X86_RSEQ_FIND_REGION
      "movzwl " RSEQMALLOC_X86_BEGIN "(%[t0],%[cl],8), %k[t2]\n\t" // t2 = begin (first: below)
      "movl " RSEQMALLOC_X86_CURRENT "(%[t0],%[cl],8), %k[t1]\n\t"  // t1 = current
      "cmpl %k[t2], %k[t1]\n\t"         // current <= begin: empty
      "jbe %l[fail]\n\t"
      "movq -8(%[t0],%[t1],8), %[t2]\n\t"  // t2 = item = region[current - 1] (begin is dead:
                                            // one register fewer keeps callers frameless)
      "decl %k[t1]\n\t"
      "movl %k[t1], " RSEQMALLOC_X86_CURRENT "(%[t0],%[cl],8)\n\t"  // COMMIT: current - 1
      "2:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2)
      : RSEQMALLOC_X86_FAST_PATH_INPUTS(fp, off), [cl] "r"(cl)
      : "memory", "cc"
      : fail);
  *out = reinterpret_cast<void*>(t2);
  return true;
fail:
  return false;
}

// Pushes k = min(n, end - current) items taken from batch[n-k .. n); returns k.
inline size_t RseqPushBatch(const SlabFastPath* fp, size_t cl, void* const* batch, size_t n) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (off == 0) return 0;
  uint64_t t0, t1, t2, k, src, dst, val;
  asm volatile(
      RSEQMALLOC_X86_RSEQ_PROLOGUE("5f")
      RSEQMALLOC_X86_RSEQ_FIND_REGION
      "leaq 8(%[t0],%[cl],8), %[t1]\n\t"  // t1 = &header[cl]
      "movzwl 4(%[t1]), %k[k]\n\t"       // k = end (first: see the ordering note)
      "movl (%[t1]), %k[t2]\n\t"         // t2 = current
      "subl %k[t2], %k[k]\n\t"           // k = end - current (room)
      "jbe 5f\n\t"                       // no room (or stopped): fail
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
      "movl %k[t2], (%[t1])\n\t"         // COMMIT: header.current += k
      "2:\n\t"
      "jmp 6f\n\t"
      "5:\n\t"
      "xorl %k[k], %k[k]\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [k] "=&r"(k), [src] "=&r"(src),
        [dst] "=&r"(dst), [val] "=&r"(val)
      : RSEQMALLOC_X86_FAST_PATH_INPUTS(fp, off), [cl] "r"(cl), [batch] "rm"(batch),
        [n] "rm"(n)
      : "memory", "cc");
  return k;
}

// Pops k = min(n, current - begin) items into batch[0 .. k); returns k. batch[0] receives the
// deepest of the popped items, batch[k-1] the former top.
inline size_t RseqPopBatch(const SlabFastPath* fp, size_t cl, void** batch, size_t n) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (off == 0) return 0;
  uint64_t t0, t1, t2, k, src, dst, val;
  asm volatile(
      RSEQMALLOC_X86_RSEQ_PROLOGUE("5f")
      RSEQMALLOC_X86_RSEQ_FIND_REGION
      "leaq 8(%[t0],%[cl],8), %[t1]\n\t"  // t1 = &header[cl]
      "movzwl 6(%[t1]), %k[k]\n\t"       // k = begin (first: see the ordering note)
      "movl (%[t1]), %k[t2]\n\t"         // t2 = current
      "negl %k[k]\n\t"
      "addl %k[t2], %k[k]\n\t"           // k = current - begin (items held)
      "jle 5f\n\t"                       // empty (or stopped): fail
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
      "movl %k[t2], (%[t1])\n\t"         // COMMIT: header.current -= k
      "2:\n\t"
      "jmp 6f\n\t"
      "5:\n\t"
      "xorl %k[k], %k[k]\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t1] "=&r"(t1), [t2] "=&r"(t2), [k] "=&r"(k), [src] "=&r"(src),
        [dst] "=&r"(dst), [val] "=&r"(val)
      : RSEQMALLOC_X86_FAST_PATH_INPUTS(fp, off), [cl] "r"(cl), [batch] "rm"(batch),
        [n] "rm"(n)
      : "memory", "cc");
  return k;
}

// Raises header.end by k = min(want, max_end - end); returns k. Raising a bound could undo a
// stop, so this one reads the slot state inside the critical section and fails unless the slot
// is open: a stopper sets the state before its fence, so after the fence no Grow can commit.
// end is loaded before the state: the stopper marks the state and then stores end = 0, so a
// Grow that sees the zeroed end also sees the mark and fails. (Loading the state first let a
// Grow see "open", then end = 0, and commit end = k: a bound below begin that the stopper then
// took for the class's real end, and a shrink drained words below the class: lost and
// duplicated items in the 7.3 guest's stress test.) The zeroed end also fails the Grow by
// itself: a Grow that starts after the stopper's fence, loads end = 0, and is delayed (a
// descheduled vCPU) until the stop has ended would otherwise read "open" and commit 0 + k, the
// same bound below begin (lost and duplicated items, once, in the arm64 6.1 guest). An open
// class's end is never 0 (it is at least begin, which is past the slot header). A Grow that
// commits after the stopper's store therefore read the old end E and wrote E + k >= E, or read
// the end the resume restored.
inline size_t RseqGrow(const SlabFastPath* fp, size_t cl, size_t max_end, size_t want) {
  const intptr_t off = RseqOffsetAcquire(fp);
  if (off == 0) return 0;
  uint64_t t0, t2, k;
  asm volatile(
      RSEQMALLOC_X86_RSEQ_PROLOGUE("5f")
      RSEQMALLOC_X86_RSEQ_FIND_REGION
      "movzwl " RSEQMALLOC_X86_END "(%[t0],%[cl],8), %k[t2]\n\t"  // t2 = end (before the state)
      "testl %k[t2], %k[t2]\n\t"          // end = 0: the slot is stopped (see above)
      "jz 5f\n\t"
      "cmpl %[open], (%[t0])\n\t"        // the slot must be open (not stopped/initialising)
      "jne 5f\n\t"
      "movq %[max_end], %[k]\n\t"
      "subq %[t2], %[k]\n\t"             // k = max_end - end (headroom)
      "jbe 5f\n\t"
      "cmpq %[want], %[k]\n\t"
      "cmovaq %[want], %[k]\n\t"         // k = min(headroom, want)
      "testq %[k], %[k]\n\t"
      "jz 5f\n\t"
      "addl %k[k], %k[t2]\n\t"
      "movw %w[t2], " RSEQMALLOC_X86_END "(%[t0],%[cl],8)\n\t"  // COMMIT: header.end += k
      "2:\n\t"
      "jmp 6f\n\t"
      "5:\n\t"
      "xorl %k[k], %k[k]\n\t"
      "6:\n\t"
      : [t0] "=&r"(t0), [t2] "=&r"(t2), [k] "=&r"(k)
      : RSEQMALLOC_X86_FAST_PATH_INPUTS(fp, off), [cl] "r"(cl), [max_end] "rm"(max_end),
        [want] "rm"(want), [open] "i"(kSlotOpen)
      : "memory", "cc");
  return k;
}

#undef RSEQMALLOC_X86_BEGIN
#undef RSEQMALLOC_X86_END
#undef RSEQMALLOC_X86_CURRENT
#undef RSEQMALLOC_X86_FAST_PATH_INPUTS
#undef RSEQMALLOC_X86_RSEQ_FIND_REGION
#undef RSEQMALLOC_X86_RSEQ_PROLOGUE

}  // namespace arch
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ARCH_X86_64_RSEQ_SLAB_OPS_H_

// aarch64 vfork() that brackets the system call with two C functions (see arch/vfork_trampoline.h).
//
// aarch64 has no vfork system call: clone(CLONE_VM | CLONE_VFORK | SIGCHLD) with a null stack
// (the child keeps the parent's sp) is the same thing, as in glibc. The child may overwrite the
// stack below the caller's frame before it execs or exits, so nothing of ours lives there across
// the call: the return address stays in x30, which each task has a copy of.
#ifndef RSEQMALLOC_ARCH_AARCH64_VFORK_TRAMPOLINE_H_
#define RSEQMALLOC_ARCH_AARCH64_VFORK_TRAMPOLINE_H_

#define RSEQMALLOC_ARCH_VFORK_TRAMPOLINE(NAME, ENTER, LEAVE)                              \
  asm(".text\n\t"                                                                         \
      ".globl " #NAME "\n\t"                                                              \
      ".type " #NAME ", %function\n\t"                                                    \
      ".p2align 4\n"                                                                      \
      #NAME ":\n\t"                                                                       \
      "hint #34\n\t"                 /* bti c: a no-op unless BTI is enforced */          \
      "stp x29, x30, [sp, #-16]!\n\t"   /* frame for the call to ENTER only */            \
      "mov x29, sp\n\t"                                                                   \
      "bl " #ENTER "\n\t"            /* ENTER(): prepare, while the stack is still ours */\
      "ldp x29, x30, [sp], #16\n\t"  /* the stack is as our caller left it again */      \
      "mov x0, #0x4111\n\t"          /* CLONE_VM | CLONE_VFORK | SIGCHLD */               \
      "mov x1, #0\n\t"               /* stack: keep sp */                                 \
      "mov x2, #0\n\t"                                                                    \
      "mov x3, #0\n\t"                                                                    \
      "mov x4, #0\n\t"                                                                    \
      "mov x8, #220\n\t"             /* __NR_clone */                                     \
      "svc #0\n\t"                   /* child runs first; the parent sleeps till exec */  \
      "cbnz x0, 1f\n\t"                                                                   \
      "ret\n"                        /* child: return 0 (x30 is the caller's) */          \
      "1:\n\t"                                                                            \
      "b " #LEAVE "\n\t"             /* parent, or failure: tail call LEAVE(raw in x0) */ \
      ".size " #NAME ", . - " #NAME "\n\t")

#endif  // RSEQMALLOC_ARCH_AARCH64_VFORK_TRAMPOLINE_H_

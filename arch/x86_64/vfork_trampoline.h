// x86_64 vfork() that brackets the system call with two C functions (see arch/vfork_trampoline.h).
//
// Why assembly: the child of vfork runs on the parent's stack and, before it execs or exits, may
// overwrite every byte below the caller's frame. A C wrapper's frame (its return address above
// all) would be gone by the time the parent returns through it. So nothing may live on the stack
// across the system call: the return address is kept in %rdx, which each task has a copy of.
// (glibc's own vfork does the same. Not shadow-stack aware: the library is not marked for it.)
#ifndef RSEQMALLOC_ARCH_X86_64_VFORK_TRAMPOLINE_H_
#define RSEQMALLOC_ARCH_X86_64_VFORK_TRAMPOLINE_H_

#define RSEQMALLOC_ARCH_VFORK_TRAMPOLINE(NAME, ENTER, LEAVE)                              \
  asm(".text\n\t"                                                                         \
      ".globl " #NAME "\n\t"                                                              \
      ".type " #NAME ", @function\n\t"                                                    \
      ".p2align 4\n"                                                                      \
      #NAME ":\n\t"                                                                       \
      "endbr64\n\t"              /* a no-op unless indirect-branch tracking is on */      \
      "subq $8, %rsp\n\t"        /* the ABI's 16-byte alignment at the call */            \
      "call " #ENTER "\n\t"      /* ENTER(): prepare, while the stack is still ours */    \
      "addq $8, %rsp\n\t"                                                                 \
      "popq %rdx\n\t"            /* caller's return address, kept in a register */        \
      "movl $58, %eax\n\t"       /* __NR_vfork */                                         \
      "syscall\n\t"              /* child runs first; the parent sleeps until it execs */ \
      "pushq %rdx\n\t"           /* return address back (the child's pushes may have */   \
                                 /* overwritten the slot: the parent rewrites it) */      \
      "testq %rax, %rax\n\t"                                                              \
      "jnz 1f\n\t"                                                                        \
      "ret\n"                    /* child: return 0 */                                    \
      "1:\n\t"                                                                            \
      "movq %rax, %rdi\n\t"      /* parent, or failure: LEAVE(raw result) */              \
      "jmp " #LEAVE "\n\t"       /* tail call: LEAVE returns to our caller */             \
      ".size " #NAME ", . - " #NAME "\n\t")

#endif  // RSEQMALLOC_ARCH_X86_64_VFORK_TRAMPOLINE_H_

// RSEQMALLOC_ARCH_VFORK_TRAMPOLINE(NAME, ENTER, LEAVE) defines, at file scope, a C function
//   pid_t NAME(void)
// with vfork()'s semantics that calls `void ENTER(void)` before the child is created and, in the
// parent only (or on failure, when there is no child), tail-calls `long LEAVE(long raw)` with the
// system call's raw result (a pid, or -errno); NAME returns what LEAVE returns. The child returns
// 0 from NAME without running LEAVE. ENTER and LEAVE must be extern "C" functions of the same
// module (hidden visibility: reached without the PLT).
#ifndef RSEQMALLOC_ARCH_VFORK_TRAMPOLINE_H_
#define RSEQMALLOC_ARCH_VFORK_TRAMPOLINE_H_

#if defined(__x86_64__)
#include "arch/x86_64/vfork_trampoline.h"
#elif defined(__aarch64__)
#include "arch/aarch64/vfork_trampoline.h"
#else
#error "rseqmalloc: no vfork trampoline for this architecture"
#endif

#endif  // RSEQMALLOC_ARCH_VFORK_TRAMPOLINE_H_

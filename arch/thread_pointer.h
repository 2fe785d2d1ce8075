// The thread pointer, i.e. the base that glibc's __rseq_offset and our own TLS offset are
// relative to. One instruction on both architectures.
#ifndef RSEQMALLOC_ARCH_THREAD_POINTER_H_
#define RSEQMALLOC_ARCH_THREAD_POINTER_H_

namespace rseqmalloc {
namespace arch {

inline char* ThreadPointer() {
#if defined(__x86_64__)
  // %fs:0 holds the TCB's self pointer, which is the thread pointer on x86_64.
  char* tp;
  asm("movq %%fs:0, %0" : "=r"(tp));
  return tp;
#elif defined(__aarch64__)
  char* tp;
  asm("mrs %0, tpidr_el0" : "=r"(tp));
  return tp;
#else
#error "rseqmalloc: unknown thread pointer"
#endif
}

}  // namespace arch
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ARCH_THREAD_POINTER_H_

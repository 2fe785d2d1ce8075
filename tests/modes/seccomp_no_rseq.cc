// Runs a program with a system call blocked by a seccomp filter that makes it fail with ENOSYS:
// rseq() by default (as on kernels without CONFIG_RSEQ, some sandboxes, valgrind, qemu-user), or
// membarrier() with --membarrier (as with CONFIG_MEMBARRIER=n), which forces the fence fallback.
//   seccomp_no_rseq [--membarrier] PROGRAM [ARGS...]
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define RSEQMALLOC_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define RSEQMALLOC_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

int main(int argc, char** argv) {
  int first = 1;
  unsigned blocked = __NR_rseq;
  if (argc > 1 && strcmp(argv[1], "--membarrier") == 0) {
    blocked = __NR_membarrier;
    first = 2;
  }
  if (argc <= first) {
    fprintf(stderr, "usage: %s [--membarrier] PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  struct sock_filter filter[] = {
      // Only filter native syscalls; anything else (x32, compat) is allowed through unchanged.
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RSEQMALLOC_AUDIT_ARCH, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, blocked, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog program = {static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])),
                               filter};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("prctl(PR_SET_NO_NEW_PRIVS)");
    return 1;
  }
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
    perror("prctl(PR_SET_SECCOMP)");
    return 1;
  }
  execv(argv[first], argv + first);
  perror("execv");
  return 127;
}

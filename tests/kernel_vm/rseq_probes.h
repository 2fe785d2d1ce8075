// Raw-syscall probes of the guest kernel's rseq features. They measure and print
// "PROBE key=value" lines; judging the values against what a given kernel should show is the job
// of guest_checks (the probes know nothing about which kernel they run on).
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_RSEQ_PROBES_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_RSEQ_PROBES_H_

#include <cstdint>

namespace rseqmalloc {
namespace kernel_vm {

// Run in a process started with GLIBC_TUNABLES=glibc.pthread.rseq=0: registers its own area at
// the kernel's feature size, reads the ID and flag fields, tries the slice-extension prctl and
// syscall, and when enabling worked runs a grant loop against a competitor pinned to the same CPU.
int RunOwnRegistrationProbe();

// Run in a process where static glibc registered its 32-byte area: reports glibc's __rseq_size
// and how the kernel answers a second registration and the slice-extension prctl.
int RunGlibcRegistrationProbe();

// Registers its own area with `length` bytes (process started without glibc's registration),
// prints "PROBE ro_len=.. ro_register=.." and then writes the kernel-owned cpu_id_start (see
// kernel_owned_write.h). Killed by SIGSEGV where the registration is optimized (V2).
int RunKernelOwnedWriteProbe(uint32_t length);

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_RSEQ_PROBES_H_

// The read-only enforcement experiment: deliberately corrupt a kernel-owned field of the calling
// thread's registered struct rseq, then make the kernel update the IDs. Optimized (V2)
// registrations on Linux 7.x validate cpu_id_start/cpu_id/node_id/mm_cid against the values the
// kernel last wrote before writing new ones, and kill the task with SIGSEGV on a mismatch;
// legacy registrations are rewritten without a check. So surviving or dying is the kernel's own
// statement of the mode the registration runs in.
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_KERNEL_OWNED_WRITE_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_KERNEL_OWNED_WRITE_H_

#include <cstdint>

namespace rseqmalloc {
namespace kernel_vm {

// Writes a value the kernel never wrote into *cpu_id_start, then for up to `budget_ms` moves the
// thread between the online CPUs (the kernel updates the IDs after a migration in either mode).
// Makes no allocation and no stdio call in between. Returns only if the process survived;
// then prints "RO survived=1 cpu_id_start_after=<v> written=<w> migrations=<n>" and flushes.
void WriteKernelOwnedFieldAndMigrate(volatile uint32_t* cpu_id_start, int budget_ms);

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_KERNEL_OWNED_WRITE_H_

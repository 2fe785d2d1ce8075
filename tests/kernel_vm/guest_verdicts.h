// Turns what the guest's child programs printed into verdicts, given what the kernel under test
// should show (GuestProfile). Probe verdicts are always enforced; allocator verdicts are skipped
// while the allocator is the glibc-forwarding placeholder and enforced once the real one prints
// its "rseq: owner=..." status line.
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_GUEST_VERDICTS_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_GUEST_VERDICTS_H_

#include <string>

#include "tests/kernel_vm/check_log.h"
#include "tests/kernel_vm/child_process.h"
#include "tests/kernel_vm/guest_profile.h"
#include "tests/kernel_vm/kernel_rseq_stats.h"

namespace rseqmalloc {
namespace kernel_vm {

// Output of RunOwnRegistrationProbe, with the kernel counters read around it.
void JudgeOwnProbe(const GuestProfile& profile, const ChildResult& run, const RseqStats& before,
                   const RseqStats& after, CheckLog* log);

// Output of RunGlibcRegistrationProbe.
void JudgeGlibcProbe(const GuestProfile& profile, const ChildResult& run, CheckLog* log);

// Output of alloc_stress. `variant` is "own" (run with glibc's registration turned off, so the
// allocator must register) or "glibc" (static glibc owns a 32-byte legacy registration).
void JudgeAllocatorRun(const GuestProfile& profile, const std::string& variant,
                       const ChildResult& run, const RseqStats& before, const RseqStats& after,
                       CheckLog* log);

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_GUEST_VERDICTS_H_

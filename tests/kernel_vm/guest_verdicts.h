// Turns what the guest's child programs printed into verdicts, given what the kernel under test
// should show (GuestProfile). Probe verdicts are always enforced; allocator verdicts are skipped
// while the allocator is the glibc-forwarding placeholder and enforced once the real one prints
// its "rseq: owner=..." status line.
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_GUEST_VERDICTS_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_GUEST_VERDICTS_H_

#include <string>
#include <utility>
#include <vector>

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

// A process wrote a kernel-owned rseq field and migrated (kernel_owned_write.h). expect_killed:
// the registration should be optimized, so the kernel must kill it with SIGSEGV; otherwise it
// must survive and find the field rewritten by the kernel.
void JudgeKernelOwnedWrite(const std::string& check, bool expect_killed, const ChildResult& run,
                           CheckLog* log);

struct GtestOutcome {
  std::vector<std::string> passed, failed;
  std::vector<std::pair<std::string, std::string>> skipped;  // test, reason
};
GtestOutcome ParseGtestOutput(const std::string& output);

// One GoogleTest binary's run: every skipped test becomes a SKIP line (or a FAIL if it is in
// must_run), and the binary's own check is PASS only if it exited 0 with at least one test passed.
void JudgeGtestRun(const std::string& check, const ChildResult& run,
                   const std::vector<std::string>& must_run, CheckLog* log);

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_GUEST_VERDICTS_H_

// Test-side choice of the rseq mode. The library reads no environment itself; tests translate
// RSEQ_TEST_KEY (auto|mm_cid|cpu_id|off) into RseqOptions, and check that the process really
// reached RSEQ_TEST_EXPECT_OWNER (glibc|own|none) when the wrapper script sets it.
#ifndef RSEQMALLOC_TESTS_PERCPU_TEST_MODE_H_
#define RSEQMALLOC_TESTS_PERCPU_TEST_MODE_H_

#include "percpu/rseq_registration.h"

namespace rseqmalloc {
namespace percpu {
namespace testing {

RseqOptions OptionsFromEnvironment();
// RseqProcessInit with OptionsFromEnvironment(); returns its result.
bool InitFromEnvironment();
// Expected owner from the environment, or nullptr when not set.
const char* ExpectedOwner();
// Expected fence method ("membarrier" / "affinity"), or nullptr when not set.
const char* ExpectedFence();
// Requested key name from the environment ("auto" when not set).
const char* RequestedKey();
// Pins the calling thread to one CPU it may run on (the first allowed); returns it or -1.
int PinToOneCpu();
// Restores the affinity to every CPU in the process' original mask.
void UnpinFromCpu();
// Waits for child pid up to deadline_s seconds: its exit code (128 + signal if killed), or -1
// after killing it when it is still running then (a hang becomes a failure, not a timeout).
int WaitChildWithDeadline(int pid, double deadline_s);

}  // namespace testing
}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_PERCPU_TEST_MODE_H_

// What every reliability test needs around the allocator: telling the temporary glibc-forwarding
// body apart from the real allocator, running a piece of work in a forked child under a deadline
// (so that a deadlock is a failure with a message, not a test that hangs until Bazel kills it),
// filling and checking memory with a pattern that names the block, and reading resident memory.
#ifndef RSEQMALLOC_TESTS_RELIABILITY_FAULT_HARNESS_H_
#define RSEQMALLOC_TESTS_RELIABILITY_FAULT_HARNESS_H_

#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <string>

namespace rseqmalloc {
namespace reliability {

// The line rseqmalloc_rseq_status() reports, e.g. for the logs of a test.
std::string RseqStatusLine();

// True while allocator/ still forwards to glibc. Checks that only the real allocator can pass
// (diagnostics that start with "rseqmalloc:", verdicts on foreign pointers) are skipped then.
bool AllocatorIsPlaceholder();

// The mode the test binary was started in, from its environment: "glibc_rseq" (glibc owns the
// rseq registration), "own_rseq" (GLIBC_TUNABLES=glibc.pthread.rseq=0) or "no_rseq"
// (RSEQMALLOC_RSEQ=off).
std::string ModeFromEnvironment();

// How a child ended.
struct ChildOutcome {
  bool timed_out = false;  // killed by us at the deadline (a deadlock or livelock)
  bool exited = false;
  int exit_code = -1;
  int signal = 0;          // the signal that ended it, when !exited
  std::string stderr_text; // what it wrote on fd 2 (first 64 KiB)

  // "exit 0", "killed by signal 6 (Aborted)", "timed out after 30 s" …
  std::string Describe() const;
};

// Forks, runs body in the child and _exits with its return value. The parent waits at most
// timeout_seconds, then kills the child with SIGKILL and reports timed_out. The child's stderr is
// captured when capture_stderr is set (for diagnostics), otherwise it goes to the test's stderr.
ChildOutcome RunInChild(const std::function<int()>& body, double timeout_seconds,
                        bool capture_stderr = false);

// Writes a pattern derived from (seed, offset) into [p, p+n) and checks it later: a block that
// another owner overwrote, or that moved without its contents, fails the check. Check returns the
// offset of the first wrong byte, or n when all are right.
void FillPattern(void* p, size_t n, uint64_t seed);
size_t CheckPattern(const void* p, size_t n, uint64_t seed);

// Resident set size of this process now, and its peak so far, in KiB (from /proc/self/status).
long CurrentRssKib();
long PeakRssKib();

// Seconds since an arbitrary fixed point (CLOCK_MONOTONIC).
double NowSeconds();

// An integer from the environment, or fallback when unset or not a number.
long EnvLong(const char* name, long fallback);

}  // namespace reliability
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_RELIABILITY_FAULT_HARNESS_H_

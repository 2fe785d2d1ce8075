// main() of every reliability test binary: names the rseq mode and the allocator's own report of
// it in the log, checks that the mode's environment really reached the process (so that a run
// labelled "own_rseq" cannot silently test the default mode), and runs a watchdog that turns a
// hung test into a named failure instead of a Bazel timeout that names nothing.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

TEST(Mode, EnvironmentReachedTheProcess) {
  const std::string mode = ModeFromEnvironment();
  if (mode == "own_rseq") {
    // The tunable stops glibc from registering; rseqmalloc has to do it itself.
    EXPECT_EQ(__rseq_size, 0u) << "GLIBC_TUNABLES=glibc.pthread.rseq=0 did not take effect";
  } else {
    // Every kernel this project runs on has rseq, and glibc 2.35+ registers it by default.
    EXPECT_GT(__rseq_size, 0u) << "glibc did not register rseq in mode " << mode;
  }
  EXPECT_FALSE(RseqStatusLine().empty()) << "rseqmalloc_rseq_status() returned an empty line";
}

// The test that is running and since when (ms of CLOCK_MONOTONIC, 0 between tests). Plain
// buffers and atomics: the watchdog reads them without allocating or locking, since the heap may
// be exactly what is stuck.
char g_running_test[256];
std::atomic<long> g_running_since_ms{0};

long NowMs() { return static_cast<long>(NowSeconds() * 1000); }

class WatchdogListener : public testing::EmptyTestEventListener {
  void OnTestStart(const testing::TestInfo& info) override {
    snprintf(g_running_test, sizeof g_running_test, "%s.%s", info.test_suite_name(), info.name());
    g_running_since_ms.store(NowMs());
  }
  void OnTestEnd(const testing::TestInfo&) override { g_running_since_ms.store(0); }
};

// A test running longer than RSEQMALLOC_WATCHDOG_SECONDS (120 s, plus the soak's length) is
// stuck: say which one and abort, so that the log names the deadlock and a core can be taken.
void StartWatchdog() {
  const long limit_ms =
      1000 * (EnvLong("RSEQMALLOC_WATCHDOG_SECONDS", 120) + EnvLong("RSEQMALLOC_SOAK_SECONDS", 20));
  const std::string mode = ModeFromEnvironment();
  std::thread([limit_ms, mode] {
    for (;;) {
      sleep(1);
      long since = g_running_since_ms.load();
      if (since != 0 && NowMs() - since > limit_ms) {
        char line[512];
        int n = snprintf(line, sizeof line,
                         "\n[reliability] watchdog: %s has run for more than %ld s: deadlock or "
                         "livelock (mode %s); aborting\n",
                         g_running_test, limit_ms / 1000, mode.c_str());
        ssize_t ignored = write(STDERR_FILENO, line, n > 0 ? n : 0);
        (void)ignored;
        abort();
      }
    }
  }).detach();
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  testing::UnitTest::GetInstance()->listeners().Append(
      new rseqmalloc::reliability::WatchdogListener);
  rseqmalloc::reliability::StartWatchdog();
  printf("[reliability] mode %s; %s\n", rseqmalloc::reliability::ModeFromEnvironment().c_str(),
         rseqmalloc::reliability::RseqStatusLine().c_str());
  return RUN_ALL_TESTS();
}

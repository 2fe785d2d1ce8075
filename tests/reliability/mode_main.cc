// main() of every reliability test binary: names the rseq mode and the allocator's own report of
// it in the log, and checks that the mode's environment really reached the process, so that a run
// labelled "own_rseq" cannot silently test the default mode.
#include <stdio.h>
#include <sys/rseq.h>

#include <string>

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

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  printf("[reliability] mode %s; %s\n", rseqmalloc::reliability::ModeFromEnvironment().c_str(),
         rseqmalloc::reliability::RseqStatusLine().c_str());
  return RUN_ALL_TESTS();
}

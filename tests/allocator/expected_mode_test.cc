// Linked into every allocator test that runs in several rseq modes (tests/modes): proves that
// the allocator really runs in the mode the harness asked for, so that a mode silently falling
// back cannot make the other tests pass for the wrong reason.
#include <stdlib.h>

#include <string>

#include "allocator/rseqmalloc.h"
#include "gtest/gtest.h"

namespace {

std::string StatusLine() {
  char line[256];
  rseqmalloc_rseq_status(line, sizeof(line));
  return line;
}

TEST(ExpectedMode, OwnerAndKeyAreTheOnesAskedFor) {
  const char* owner = getenv("RSEQ_TEST_EXPECT_OWNER");
  if (owner == nullptr) GTEST_SKIP() << "not run through tests/modes/run_in_mode.sh";
  const std::string status = StatusLine();
  EXPECT_NE(status.find(std::string("owner=") + owner + " "), std::string::npos) << status;
  const char* key = getenv("RSEQMALLOC_SLOT_KEY");
  if (key != nullptr && std::string(owner) != "none") {
    EXPECT_NE(status.find(std::string("key=") + key + " "), std::string::npos) << status;
  }
}

}  // namespace

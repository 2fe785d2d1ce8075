// Pointers the heap does not own. rseqmalloc promises (DESIGN.md §6) that freeing one prints a
// one-line diagnostic starting with "rseqmalloc:" and aborts, instead of corrupting the heap
// silently. glibc, behind the placeholder, behaves otherwise, so these checks are skipped until
// rseqmalloc_rseq_status() stops reporting the placeholder.
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

// Exactly one line on stderr, starting with "rseqmalloc:".
constexpr char kDiagnostic[] = "^rseqmalloc: [^\n]+\n?$";

// The compiler must not see through these: freeing them is the point of the test.
__attribute__((noinline)) void* Launder(void* p) {
  void* volatile q = p;
  return q;
}

class ForeignPointer : public testing::Test {
 protected:
  void SetUp() override {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    if (AllocatorIsPlaceholder()) {
      GTEST_SKIP() << "allocator is the glibc placeholder (" << RseqStatusLine()
                   << "): foreign-pointer diagnostics are rseqmalloc's";
    }
  }
};

TEST_F(ForeignPointer, FreeOfStackAddressAborts) {
  EXPECT_EXIT(
      {
        char on_stack[64];
        free(Launder(on_stack + 16));
      },
      testing::KilledBySignal(SIGABRT), kDiagnostic);
}

TEST_F(ForeignPointer, FreeIntoOwnMmapRegionAborts) {
  EXPECT_EXIT(
      {
        void* region = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
        if (region == MAP_FAILED) _exit(3);
        free(Launder(static_cast<char*>(region) + (1 << 19) + 64));
      },
      testing::KilledBySignal(SIGABRT), kDiagnostic);
}

TEST_F(ForeignPointer, DoubleFreeOfLargeAllocationAborts) {
  EXPECT_EXIT(
      {
        void* large = Launder(malloc(8 << 20));
        free(large);
        free(Launder(large));
      },
      testing::KilledBySignal(SIGABRT), kDiagnostic);
}

TEST_F(ForeignPointer, DeleteOfGlobalAborts) {
  static char global_object[256];
  EXPECT_EXIT({ ::operator delete(Launder(global_object)); }, testing::KilledBySignal(SIGABRT),
              kDiagnostic);
}

// For malloc_usable_size of a foreign pointer both honest answers are accepted: 0, or the same
// diagnostic and abort. A made-up size (or a crash of another kind) is not.
TEST_F(ForeignPointer, UsableSizeOfForeignPointerIsZeroOrDiagnosed) {
  char on_stack[64];
  void* region = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(region, MAP_FAILED);
  for (void* foreign : {Launder(on_stack + 8), Launder(static_cast<char*>(region) + 4096)}) {
    ChildOutcome outcome = RunInChild(
        [foreign] { return malloc_usable_size(foreign) == 0 ? 0 : 1; }, 20,
        /*capture_stderr=*/true);
    bool zero = outcome.exited && outcome.exit_code == 0;
    bool diagnosed = !outcome.exited && outcome.signal == SIGABRT &&
                     outcome.stderr_text.rfind("rseqmalloc:", 0) == 0;
    EXPECT_TRUE(zero || diagnosed) << "malloc_usable_size(" << foreign << "): "
                                   << outcome.Describe();
  }
  munmap(region, 1 << 20);
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

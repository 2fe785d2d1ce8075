// The time-slice extension guard: probing degrades to "unsupported" on kernels without the
// feature (6.18 here) and the guard is then harmless; where the kernel offers it (7.0+ with an
// optimized registration) the guard requests and the counters move.
#include "percpu/slice_extension.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "arch/rseq_abi.h"
#include "gtest/gtest.h"
#include "percpu/rseq_registration.h"
#include "tests/percpu/test_mode.h"

namespace rseqmalloc {
namespace percpu {
namespace {

// Independent probe of the kernel: does rseq_slice_yield exist at all?
bool KernelHasSliceYield() {
  errno = 0;
  long rc = syscall(arch::kSysRseqSliceYield);
  return !(rc == -1 && errno == ENOSYS);
}

class SliceExtensionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::InitFromEnvironment(); }
};

TEST_F(SliceExtensionTest, StatusMatchesTheKernel) {
  const RseqStatus& s = CurrentRseqStatus();
  if (!KernelHasSliceYield()) {
    EXPECT_EQ(s.slice_ext, SliceExtState::kUnsupported);
    // And the prctl the lazy path would use is refused as "absent", which we never report.
    errno = 0;
    EXPECT_EQ(prctl(arch::kPrRseqSliceExtension, arch::kPrRseqSliceExtensionGet, 0, 0, 0), -1);
  }
  if (s.mode != RseqMode::kOptimized) {
    EXPECT_EQ(s.slice_ext, SliceExtState::kUnsupported);
  }
  if (s.slice_ext != SliceExtState::kUnsupported) {
    EXPECT_TRUE(ThreadRseqFlags() & arch::kRseqCsFlagSliceExtAvailable);
  }
}

TEST_F(SliceExtensionTest, GuardIsHarmlessWhenUnsupported) {
  if (CurrentRseqStatus().slice_ext != SliceExtState::kUnsupported) GTEST_SKIP();
  SliceExtensionCounters before = GetSliceExtensionCounters();
  int work = 0;
  for (int i = 0; i < 100000; ++i) {
    SliceExtensionGuard guard;
    work += i & 1;
  }
  EXPECT_EQ(work, 50000);
  EXPECT_FALSE(SliceExtensionActiveOnThisThread());
  SliceExtensionCounters after = GetSliceExtensionCounters();
  EXPECT_EQ(after.requests, before.requests);
  EXPECT_EQ(after.yields, before.yields);
  // Nothing was written to slice_ctrl (it may not even exist in the registered area).
  if (CurrentRseqStatus().owner != RseqOwner::kNone) {
    EXPECT_EQ(*reinterpret_cast<volatile uint8_t*>(ThreadRseqArea() + 28), 0);
  }
  std::thread([] {
    SliceExtensionGuard guard;
    EXPECT_FALSE(SliceExtensionActiveOnThisThread());
  }).join();
}

TEST_F(SliceExtensionTest, GuardRequestsWhenSupported) {
  if (CurrentRseqStatus().slice_ext == SliceExtState::kUnsupported) {
    GTEST_SKIP() << "kernel without time-slice extension (needs 7.0+, optimized registration)";
  }
  std::thread([] {
    SliceExtensionCounters before = GetSliceExtensionCounters();
    {
      SliceExtensionGuard guard;
      EXPECT_TRUE(SliceExtensionActiveOnThisThread());
      EXPECT_EQ(*reinterpret_cast<volatile uint8_t*>(ThreadRseqArea() + 28), 1);
    }
    EXPECT_EQ(*reinterpret_cast<volatile uint8_t*>(ThreadRseqArea() + 28), 0);
    EXPECT_EQ(GetSliceExtensionCounters().requests, before.requests + 1);
    EXPECT_TRUE(ThreadRseqFlags() & arch::kRseqCsFlagSliceExtEnabled);
  }).join();
}

}  // namespace
}  // namespace percpu
}  // namespace rseqmalloc

// The time-slice extension guard: probing degrades to "unsupported" on kernels without the
// feature (6.18 here) and the guard is then harmless; where the kernel offers it (7.0+ with an
// optimized registration) the guard requests and the counters move.
#include "percpu/slice_extension.h"

#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>
#include <vector>

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

uint8_t RequestByte() {
  return *reinterpret_cast<volatile uint8_t*>(ThreadRseqArea() + arch::kRseqSliceRequestOffset);
}

// Turns the guard on for the calling thread even where the kernel lacks the extension, so that
// the request-byte protocol can be checked on any host (kernels ignore the byte beyond the
// feature size they fill, and `granted` then stays 0, so no yield happens).
void ForceGuardOnThisThread() { internal::t_slice_state = internal::kSliceOn; }

uint8_t g_request_seen_in_handler = 0xff;
void GuardedSignalHandler(int) {
  SliceExtensionGuard inner;
  g_request_seen_in_handler = RequestByte();
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

// Context switches of the calling thread so far (voluntary and involuntary).
long ContextSwitches() {
  struct rusage usage {};
  getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nvcsw + usage.ru_nivcsw;
}

// An inner guard (here: one in a signal handler that interrupted a guarded section) must not
// withdraw the outer section's request, nor count as a request of its own. On a kernel with the
// extension, the kernel itself clears the request when it switches the thread out or grants an
// extension; such an attempt shows nothing about the guards and is repeated, and the test
// skips (visibly) only if every attempt was disturbed.
TEST_F(SliceExtensionTest, NestedGuardKeepsTheOuterRequest) {
  std::thread([] {
    ForceGuardOnThisThread();
    struct sigaction sa {}, old {};
    sa.sa_handler = GuardedSignalHandler;
    sigemptyset(&sa.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
    constexpr int kAttempts = 50;
    int attempt = 0;
    for (; attempt < kAttempts; ++attempt) {
      const long switches = ContextSwitches();
      const SliceExtensionCounters before = GetSliceExtensionCounters();
      uint8_t at_start, after_inner, after_signal;
      {
        SliceExtensionGuard outer;
        at_start = RequestByte();
        { SliceExtensionGuard inner; }
        after_inner = RequestByte();
        g_request_seen_in_handler = 0xff;
        raise(SIGUSR2);
        after_signal = RequestByte();
      }
      const uint8_t after_outer = RequestByte();
      const uint64_t requests = GetSliceExtensionCounters().requests - before.requests;
      const uint8_t granted = *reinterpret_cast<volatile uint8_t*>(
          ThreadRseqArea() + arch::kRseqSliceGrantedOffset);
      if (ContextSwitches() != switches || granted != 0) continue;  // the kernel stepped in
      EXPECT_EQ(at_start, 1);
      EXPECT_EQ(after_inner, 1) << "the inner guard withdrew the outer request";
      EXPECT_EQ(g_request_seen_in_handler, 1);
      EXPECT_EQ(after_signal, 1) << "a guard in a signal handler withdrew the outer request";
      EXPECT_EQ(after_outer, 0);
      EXPECT_EQ(requests, 1u) << "only the outermost guard requests";
      break;
    }
    sigaction(SIGUSR2, &old, nullptr);
    if (attempt == kAttempts) {
      GTEST_SKIP() << "the kernel switched the thread out or granted in each of " << kAttempts
                   << " attempts";
    }
  }).join();
}

// A nested guard restores what it found: if the kernel had already cleared the outer request,
// the inner guard must not leave a stray request behind when it ends.
TEST_F(SliceExtensionTest, NestedGuardRestoresAClearedRequest) {
  std::thread([] {
    ForceGuardOnThisThread();
    SliceExtensionGuard outer;
    *reinterpret_cast<volatile uint8_t*>(ThreadRseqArea() + arch::kRseqSliceRequestOffset) = 0;
    { SliceExtensionGuard inner; }
    EXPECT_EQ(RequestByte(), 0);
    outer.LockAcquired();
    EXPECT_EQ(RequestByte(), 1) << "LockAcquired must request again";
  }).join();
}

// The counters are kept per slot but must add up exactly (the guest compares them with the
// kernel's own counts).
TEST_F(SliceExtensionTest, CountersAddUpAcrossThreads) {
  constexpr int kThreads = 4, kGuards = 5000;
  const SliceExtensionCounters before = GetSliceExtensionCounters();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([] {
      ForceGuardOnThisThread();
      for (int i = 0; i < kGuards; ++i) {
        SliceExtensionGuard guard;
        if (i % 97 == 0) sched_yield();  // move between CPUs now and then
      }
    });
  }
  for (auto& t : threads) t.join();
  const SliceExtensionCounters after = GetSliceExtensionCounters();
  EXPECT_EQ(after.requests - before.requests, uint64_t{kThreads} * kGuards);
  EXPECT_LE(after.yields - before.yields, after.grants - before.grants);
}

}  // namespace
}  // namespace percpu
}  // namespace rseqmalloc

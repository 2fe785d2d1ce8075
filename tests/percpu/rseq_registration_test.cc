// Registration policy, status reporting and per-thread readiness, in whatever mode the wrapper
// script started us in (see run_in_mode.sh).
#include "percpu/rseq_registration.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "arch/rseq_abi.h"
#include "gtest/gtest.h"
#include "percpu/fence.h"
#include "percpu/possible_cpus.h"
#include "percpu/rseq_status.h"
#include "tests/percpu/test_mode.h"

namespace rseqmalloc {
namespace percpu {
namespace {

class RseqRegistrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { usable_ = testing::InitFromEnvironment(); }
  static bool usable_;
};
bool RseqRegistrationTest::usable_ = false;

std::string StatusLine() {
  char buf[256];
  CurrentRseqStatus().Format(buf, sizeof(buf));
  return buf;
}

TEST_F(RseqRegistrationTest, ReachesTheModeTheWrapperAskedFor) {
  const char* expected = testing::ExpectedOwner();
  if (expected == nullptr) GTEST_SKIP() << "not started by run_in_mode.sh";
  const RseqStatus& s = CurrentRseqStatus();
  EXPECT_STREQ(RseqOwnerName(s.owner), expected) << StatusLine();
  EXPECT_EQ(usable_, strcmp(expected, "none") != 0);
  if (s.owner == RseqOwner::kNone) {
    EXPECT_EQ(s.mode, RseqMode::kUnavailable);
    EXPECT_EQ(s.registered_length, 0u);
    return;
  }
  // This machine's kernel reports a feature size; mm_cid is covered from 28 bytes on.
  uint32_t at_feature = static_cast<uint32_t>(getauxval(arch::kAtRseqFeatureSize));
  if (at_feature == 0) at_feature = 20;
  if (s.owner == RseqOwner::kOwn) {
    EXPECT_EQ(s.feature_size, at_feature);
    EXPECT_EQ(s.registered_length, at_feature > 32 ? at_feature : 32u);
  } else {
    EXPECT_GE(s.feature_size, 20u);
    EXPECT_LE(s.feature_size, at_feature > 32 ? at_feature : 32u);
    EXPECT_GE(s.registered_length, 32u);
  }
  EXPECT_EQ(s.mode, s.registered_length > 32 ? RseqMode::kOptimized : RseqMode::kLegacy);
  std::string key = testing::RequestedKey();
  bool mm_cid_possible = s.feature_size >= 28;
  if (key == "cpu_id" || !mm_cid_possible) {
    EXPECT_EQ(s.key, SlotKey::kCpuId);
  } else {
    EXPECT_EQ(s.key, SlotKey::kMmCid);
  }
}

// The mode is "kernel"-observed exactly when the kernel flagged the slice extension as available
// (it does so only for optimized registrations); without rseq there is no mode to source.
TEST_F(RseqRegistrationTest, ModeSourceSaysWhetherTheKernelShowedTheMode) {
  const RseqStatus& s = CurrentRseqStatus();
  EXPECT_NE(StatusLine().find(std::string(" mode_source=") + RseqModeSourceName(s.mode_source) +
                              " "),
            std::string::npos)
      << StatusLine();
  if (s.owner == RseqOwner::kNone) {
    EXPECT_EQ(s.mode_source, RseqModeSource::kNone);
    return;
  }
  const bool flagged = (ThreadRseqFlags() & arch::kRseqCsFlagSliceExtAvailable) != 0;
  EXPECT_EQ(s.mode_source, flagged ? RseqModeSource::kKernel : RseqModeSource::kInferred)
      << StatusLine();
  if (flagged) {
    EXPECT_EQ(s.mode, RseqMode::kOptimized);
  }
}

TEST_F(RseqRegistrationTest, SlotsAreThePossibleCpus) {
  std::ifstream in("/sys/devices/system/cpu/possible");
  std::string text;
  std::getline(in, text);
  ASSERT_FALSE(text.empty());
  // Independent parse: highest number in the list + 1.
  unsigned highest = 0;
  for (size_t i = 0; i < text.size();) {
    if (!isdigit(static_cast<unsigned char>(text[i]))) {
      ++i;
      continue;
    }
    unsigned v = 0;
    while (i < text.size() && isdigit(static_cast<unsigned char>(text[i]))) v = v * 10 + (text[i++] - '0');
    if (v > highest) highest = v;
  }
  EXPECT_EQ(CurrentRseqStatus().slots, highest + 1);
  EXPECT_GE(CurrentRseqStatus().slots, static_cast<uint32_t>(sysconf(_SC_NPROCESSORS_ONLN)));
}

TEST(PossibleCpusTest, ParsesKernelCpuLists) {
  EXPECT_EQ(ParseCpuListBound("0\n", 2), 1u);
  EXPECT_EQ(ParseCpuListBound("0-1\n", 4), 2u);
  EXPECT_EQ(ParseCpuListBound("0-3,8,10-11\n", 12), 12u);
  EXPECT_EQ(ParseCpuListBound("0,5", 3), 6u);
  EXPECT_EQ(ParseCpuListBound("", 0), 0u);
  EXPECT_EQ(ParseCpuListBound("x", 1), 0u);
  EXPECT_EQ(ParseCpuListBound("3-1", 3), 0u);
  EXPECT_EQ(ParseCpuListBound("4-", 2), 0u);
}

TEST_F(RseqRegistrationTest, StatusLineHasTheExactFormat) {
  RseqStatus s;
  s.owner = RseqOwner::kGlibc;
  s.registered_length = 32;
  s.feature_size = 28;
  s.mode = RseqMode::kLegacy;
  s.mode_source = RseqModeSource::kInferred;
  s.key = SlotKey::kMmCid;
  s.slots = 2;
  s.slice_ext = SliceExtState::kUnsupported;
  char buf[256];
  const char* want =
      "rseq: owner=glibc registered=32 feature_size=28 mode=legacy mode_source=inferred "
      "key=mm_cid slots=2 slice_ext=unsupported";
  EXPECT_EQ(s.Format(buf, sizeof(buf)), strlen(want));
  EXPECT_STREQ(buf, want);

  s.owner = RseqOwner::kOwn;
  s.registered_length = 33;
  s.feature_size = 33;
  s.mode = RseqMode::kOptimized;
  s.mode_source = RseqModeSource::kKernel;
  s.key = SlotKey::kCpuId;
  s.slots = 128;
  s.slice_ext = SliceExtState::kEnabled;
  s.Format(buf, sizeof(buf));
  EXPECT_STREQ(buf,
               "rseq: owner=own registered=33 feature_size=33 mode=optimized mode_source=kernel "
               "key=cpu_id slots=128 slice_ext=enabled");
  s.owner = RseqOwner::kNone;
  s.mode = RseqMode::kUnavailable;
  s.mode_source = RseqModeSource::kNone;
  s.slice_ext = SliceExtState::kAvailable;
  s.Format(buf, sizeof(buf));
  EXPECT_NE(strstr(buf, "mode_source=none "), nullptr);
  EXPECT_NE(strstr(buf, "owner=none "), nullptr);
  EXPECT_NE(strstr(buf, "mode=unavailable "), nullptr);
  EXPECT_NE(strstr(buf, "slice_ext=available"), nullptr);

  // snprintf semantics: truncation keeps the NUL and reports the full length.
  char small[10];
  size_t full = s.Format(small, sizeof(small));
  EXPECT_GT(full, sizeof(small));
  EXPECT_EQ(strlen(small), sizeof(small) - 1);
  EXPECT_EQ(s.Format(nullptr, 0), full);
}

TEST_F(RseqRegistrationTest, CurrentStatusLineParsesBack) {
  std::string line = StatusLine();
  std::istringstream in(line);
  std::string word;
  in >> word;
  EXPECT_EQ(word, "rseq:");
  const char* keys[] = {"owner", "registered", "feature_size", "mode", "mode_source", "key",
                        "slots", "slice_ext"};
  for (const char* key : keys) {
    ASSERT_TRUE(in >> word) << line;
    EXPECT_EQ(word.substr(0, word.find('=')), key) << line;
  }
  EXPECT_FALSE(in >> word) << "trailing text in " << line;
  printf("%s\n", line.c_str());
}

TEST_F(RseqRegistrationTest, EveryThreadBecomesReadyWhenUsable) {
  if (!usable_) {
    EXPECT_FALSE(RseqThreadReady());
    std::thread([] { EXPECT_FALSE(RseqThreadReady()); }).join();
    return;
  }
  EXPECT_TRUE(RseqThreadReady());
  EXPECT_GE(ThreadRseqCpuId(), 0);
  for (int i = 0; i < 4; ++i) {
    std::thread([] {
      if (CurrentRseqStatus().owner == RseqOwner::kOwn) {
        // Our area starts exactly like a never-registered one.
        EXPECT_EQ(ThreadRseqCpuId(), arch::kRseqCpuIdUninitialized);
      }
      EXPECT_TRUE(RseqThreadReady());
      EXPECT_GE(ThreadRseqCpuId(), 0);
      EXPECT_LT(static_cast<uint32_t>(ThreadRseqCpuId()), CurrentRseqStatus().slots);
      EXPECT_TRUE(RseqThreadReady());  // fast path now
    }).join();
  }
}

TEST_F(RseqRegistrationTest, InitIsIdempotent) {
  RseqOptions other;
  other.key = usable_ ? SlotKeyRequest::kOff : SlotKeyRequest::kAuto;
  std::string before = StatusLine();
  EXPECT_EQ(RseqProcessInit(other), usable_);
  EXPECT_EQ(StatusLine(), before);
}

TEST_F(RseqRegistrationTest, FenceMethodFollowsUsability) {
  if (!usable_) {
    EXPECT_EQ(CurrentFenceMethod(), FenceMethod::kNone);
  } else {
    EXPECT_NE(CurrentFenceMethod(), FenceMethod::kNone);
    const char* expected = testing::ExpectedFence();
    FenceMethod want = expected != nullptr && strcmp(expected, "affinity") == 0
                           ? FenceMethod::kAffinity
                           : FenceMethod::kMembarrier;  // this machine's kernel has it
    EXPECT_EQ(CurrentFenceMethod(), want);
  }
  EXPECT_TRUE(FenceSlot(0));  // must be harmless, and complete, in every mode
}

TEST_F(RseqRegistrationTest, ForkedChildKeepsRegistration) {
  if (!usable_) GTEST_SKIP();
  ASSERT_TRUE(RseqThreadReady());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(RseqThreadReady() && ThreadRseqCpuId() >= 0 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace percpu
}  // namespace rseqmalloc

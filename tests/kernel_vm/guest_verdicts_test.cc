// The guest's verdicts decide whether the kernel_vm suite passes, so they are tested here on the
// host with canned child output: a correct real-allocator run passes, each wrong field fails,
// the placeholder is skipped, and probe results are held to the kernel profile.
#include <errno.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/kernel_vm/guest_verdicts.h"

namespace rseqmalloc {
namespace kernel_vm {
namespace {

ChildResult Exited(int code, const std::string& output) {
  ChildResult r;
  r.started = true;
  r.exit_code = code;
  r.output = output;
  return r;
}

const char kStressOk[] =
    "STRESS phase=churn threads=4 ms=1 ops=10 result=ok\n"
    "STRESS phase=contention threads=8 ms=1 ops=10 result=ok\n"
    "STRESS failures=0\n";

std::string RealRun(const std::string& status, const std::string& stats) {
  return "STATUS " + status + "\n" + kStressOk + "STATUS_AFTER " + status + "\n" + stats;
}

const char kGoodX86Own[] =
    "rseq: owner=own registered=64 feature_size=33 mode=optimized key=mm_cid slots=2 "
    "slice_ext=enabled";
const char kGrantStats[] =
    "STAT slice_ext.requests=500\nSTAT slice_ext.grants=3\nSTAT slice_ext.yields=3\n"
    "STAT slice_ext.yields_returned_one=3\n";

RseqStats Kernel(uint64_t sgrant, uint64_t syield) {
  return RseqStats{{"sgrant", sgrant}, {"syield", syield}};
}

TEST(AllocatorVerdicts, CorrectX86OwnRunPasses) {
  CheckLog log;
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "own", Exited(0, RealRun(kGoodX86Own, kGrantStats)),
                    Kernel(1, 10), Kernel(5, 13), &log);
  EXPECT_EQ(log.failed(), 0);
  EXPECT_EQ(log.skipped(), 0);
  EXPECT_GE(log.passed(), 5);
}

TEST(AllocatorVerdicts, EachWrongStatusFieldFails) {
  const char* wrong[] = {
      "rseq: owner=glibc registered=64 feature_size=33 mode=optimized key=mm_cid slots=2 slice_ext=enabled",
      "rseq: owner=own registered=32 feature_size=33 mode=optimized key=mm_cid slots=2 slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=legacy key=mm_cid slots=2 slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=optimized key=cpu_id slots=2 slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=optimized key=mm_cid slots=2 slice_ext=available",
      "rseq: owner=own registered=64 feature_size=33 mode=optimized key=mm_cid slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=fast key=mm_cid slots=2 slice_ext=enabled",
  };
  for (const char* status : wrong) {
    CheckLog log;
    JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "own", Exited(0, RealRun(status, kGrantStats)),
                      Kernel(1, 10), Kernel(5, 13), &log);
    EXPECT_GE(log.failed(), 1) << status;
  }
}

TEST(AllocatorVerdicts, MissingGrantsOrUnequalYieldsFail) {
  const char* stats[] = {
      "STAT slice_ext.requests=500\nSTAT slice_ext.grants=0\nSTAT slice_ext.yields=0\n"
      "STAT slice_ext.yields_returned_one=0\n",
      "STAT slice_ext.requests=500\nSTAT slice_ext.grants=3\nSTAT slice_ext.yields=3\n"
      "STAT slice_ext.yields_returned_one=2\n",  // the kernel counted 3 granted yields
      "STAT slice_ext.requests=500\nSTAT slice_ext.grants=3\nSTAT slice_ext.yields=3\n"
      "STAT slice_ext.yields_returned_one=4\n",
      "STAT slice_ext.requests=unknown\nSTAT slice_ext.grants=unknown\n",
  };
  for (const char* s : stats) {
    CheckLog log;
    JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "own", Exited(0, RealRun(kGoodX86Own, s)),
                      Kernel(1, 10), Kernel(5, 13), &log);
    EXPECT_GE(log.failed(), 1) << s;
  }
  CheckLog no_kernel_grants;
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "own",
                    Exited(0, RealRun(kGoodX86Own, kGrantStats)), Kernel(5, 10), Kernel(5, 13),
                    &no_kernel_grants);
  EXPECT_EQ(no_kernel_grants.failed(), 1);
}

TEST(AllocatorVerdicts, YieldAfterExpiredGrantMayReturnZero) {
  // 4 yields, 3 returned 1 and the kernel counted 3 granted yields: consistent, passes.
  CheckLog log;
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "own",
                    Exited(0, RealRun(kGoodX86Own,
                                      "STAT slice_ext.requests=500\nSTAT slice_ext.grants=4\n"
                                      "STAT slice_ext.yields=4\nSTAT slice_ext.yields_returned_one=3\n")),
                    Kernel(1, 10), Kernel(5, 13), &log);
  EXPECT_EQ(log.failed(), 0);
}

TEST(AllocatorVerdicts, OldKernelNeedsCpuIdKey) {
  const std::string stats =
      "STAT slice_ext.requests=0\nSTAT slice_ext.grants=0\nSTAT slice_ext.yields=0\n"
      "STAT slice_ext.yields_returned_one=0\n";
  CheckLog good, bad;
  JudgeAllocatorRun(*FindGuestProfile("arm64-6.1"), "glibc",
                    Exited(0, RealRun("rseq: owner=glibc registered=32 feature_size=20 mode=legacy "
                                      "key=cpu_id slots=2 slice_ext=unsupported", stats)),
                    {}, {}, &good);
  JudgeAllocatorRun(*FindGuestProfile("arm64-6.1"), "glibc",
                    Exited(0, RealRun("rseq: owner=glibc registered=32 feature_size=20 mode=legacy "
                                      "key=mm_cid slots=2 slice_ext=unsupported", stats)),
                    {}, {}, &bad);
  EXPECT_EQ(good.failed(), 0);
  EXPECT_EQ(bad.failed(), 1);
}

TEST(AllocatorVerdicts, PlaceholderIsSkippedButStressStillJudged) {
  const std::string out = std::string("STATUS rseq: placeholder (glibc malloc)\n") + kStressOk;
  CheckLog ok_log, crash_log;
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "own", Exited(0, out), {}, {}, &ok_log);
  EXPECT_EQ(ok_log.failed(), 0);
  EXPECT_EQ(ok_log.skipped(), 2);
  ChildResult crashed = Exited(-1, out);
  crashed.term_signal = 11;
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "own", crashed, {}, {}, &crash_log);
  EXPECT_EQ(crash_log.failed(), 1);
}

TEST(ProbeVerdicts, ArmKernelMustRefuseSliceExtension) {
  const std::string out =
      "PROBE at_feature_size=33\nPROBE at_align=64\nPROBE possible_cpus=2\nPROBE own_len=33\n"
      "PROBE own_register=0\nPROBE cpu_id=1\nPROBE flags=0x0\nPROBE prctl_set=-524\n"
      "PROBE flags_after_prctl=0x0\nPROBE slice_yield=-38\nPROBE thread_registrations_ok=1\n"
      "PROBE mm_cid_max=1\nPROBE own_unregister=0\nPROBE done=1\n";
  CheckLog arm, x86;
  JudgeOwnProbe(*FindGuestProfile("arm64-7.3"), Exited(0, out), {}, {}, &arm);
  EXPECT_EQ(arm.failed(), 0);
  // The same output on the slice-extension kernel means the feature is missing: must fail.
  JudgeOwnProbe(*FindGuestProfile("x86_64-7.3"), Exited(0, out), {}, {}, &x86);
  EXPECT_GE(x86.failed(), 4);
}

TEST(ProbeVerdicts, UnfinishedProbeFails) {
  CheckLog log;
  JudgeOwnProbe(*FindGuestProfile("arm64-6.1"), Exited(0, "PROBE at_feature_size=0\n"), {}, {}, &log);
  EXPECT_EQ(log.failed(), 1);
}

}  // namespace
}  // namespace kernel_vm
}  // namespace rseqmalloc

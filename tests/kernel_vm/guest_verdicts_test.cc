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
    "rseq: owner=own registered=64 feature_size=33 mode=optimized mode_source=kernel key=mm_cid "
    "slots=2 slice_ext=enabled";
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
      "rseq: owner=glibc registered=64 feature_size=33 mode=optimized mode_source=kernel key=mm_cid slots=2 slice_ext=enabled",
      "rseq: owner=own registered=32 feature_size=33 mode=optimized mode_source=kernel key=mm_cid slots=2 slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=legacy mode_source=kernel key=mm_cid slots=2 slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=optimized mode_source=kernel key=cpu_id slots=2 slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=optimized mode_source=kernel key=mm_cid slots=2 slice_ext=available",
      "rseq: owner=own registered=64 feature_size=33 mode=optimized mode_source=kernel key=mm_cid slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=fast mode_source=kernel key=mm_cid slots=2 slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=optimized mode_source=inferred key=mm_cid slots=2 slice_ext=enabled",
      "rseq: owner=own registered=64 feature_size=33 mode=optimized key=mm_cid slots=2 slice_ext=enabled",
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
                                      "mode_source=inferred key=cpu_id slots=2 slice_ext=unsupported", stats)),
                    {}, {}, &good);
  JudgeAllocatorRun(*FindGuestProfile("arm64-6.1"), "glibc",
                    Exited(0, RealRun("rseq: owner=glibc registered=32 feature_size=20 mode=legacy "
                                      "mode_source=inferred key=mm_cid slots=2 slice_ext=unsupported", stats)),
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

// trixie's glibc 2.41 owns an optimized registration; rseqmalloc enables the extension lazily.
TEST(AllocatorVerdicts, Glibc241RunNeedsKernelModeAndLazyEnable) {
  const std::string before =
      "rseq: owner=glibc registered=33 feature_size=33 mode=optimized mode_source=kernel "
      "key=mm_cid slots=2 slice_ext=available";
  const std::string enabled =
      "rseq: owner=glibc registered=33 feature_size=33 mode=optimized mode_source=kernel "
      "key=mm_cid slots=2 slice_ext=enabled";
  auto run = [&](const std::string& first, const std::string& after, const std::string& libc) {
    return Exited(0, "LIBC version=" + libc + "\nSTATUS " + first + "\n" + kStressOk +
                         "STATUS_AFTER " + after + "\n" + kGrantStats);
  };
  CheckLog good;
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "glibc241",
                    run(before, enabled, "2.41 rseq_size=33"), Kernel(1, 10), Kernel(5, 13), &good);
  EXPECT_EQ(good.failed(), 0);
  EXPECT_EQ(good.skipped(), 0);
  CheckLog never_enabled, old_libc, legacy;
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "glibc241", run(before, before, "2.41 rseq_size=33"),
                    Kernel(1, 10), Kernel(5, 13), &never_enabled);
  EXPECT_EQ(never_enabled.failed(), 1);
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "glibc241", run(before, enabled, "2.36 rseq_size=20"),
                    Kernel(1, 10), Kernel(5, 13), &old_libc);
  EXPECT_EQ(old_libc.failed(), 1);
  const std::string legacy_line =
      "rseq: owner=glibc registered=32 feature_size=28 mode=legacy mode_source=inferred "
      "key=mm_cid slots=2 slice_ext=unsupported";
  JudgeAllocatorRun(*FindGuestProfile("x86_64-7.3"), "glibc241",
                    run(legacy_line, legacy_line, "2.41 rseq_size=33"), Kernel(1, 10), Kernel(5, 13),
                    &legacy);
  EXPECT_GE(legacy.failed(), 2);  // status, and slice_ext never enabled
}

ChildResult Killed(int sig) {
  ChildResult r;
  r.started = true;
  r.term_signal = sig;
  return r;
}

TEST(KernelOwnedWriteVerdicts, KilledOnlyWhereExpected) {
  const ChildResult survived = Exited(0, "RO survived=1 cpu_id_start_after=1 written=16385 migrations=9\n");
  const ChildResult not_rewritten =
      Exited(0, "RO survived=1 cpu_id_start_after=16385 written=16385 migrations=9\n");
  CheckLog a, b, c, d, e;
  JudgeKernelOwnedWrite("x", true, Killed(11), &a);
  EXPECT_EQ(a.failed(), 0);
  JudgeKernelOwnedWrite("x", true, survived, &b);  // optimized expected, kernel did not enforce
  EXPECT_EQ(b.failed(), 1);
  JudgeKernelOwnedWrite("x", false, survived, &c);
  EXPECT_EQ(c.failed(), 0);
  JudgeKernelOwnedWrite("x", false, Killed(11), &d);
  EXPECT_EQ(d.failed(), 1);
  JudgeKernelOwnedWrite("x", false, not_rewritten, &e);  // the kernel never looked at the field
  EXPECT_EQ(e.failed(), 1);
}

const char kGtestOutput[] =
    "[ RUN      ] A.Runs\n[       OK ] A.Runs (1 ms)\n"
    "[ RUN      ] A.Skips\nx.cc:9: Skipped\nno feature here\n\n[  SKIPPED ] A.Skips (0 ms)\n"
    "[  PASSED  ] 1 test.\n[  SKIPPED ] 1 test, listed below:\n[  SKIPPED ] A.Skips\n";

TEST(GtestVerdicts, SkipsAreReportedNotPassed) {
  const GtestOutcome o = ParseGtestOutput(kGtestOutput);
  ASSERT_EQ(o.passed.size(), 1u);
  ASSERT_EQ(o.skipped.size(), 1u);
  EXPECT_EQ(o.skipped[0].first, "A.Skips");
  EXPECT_EQ(o.skipped[0].second, "no feature here");
  CheckLog log;
  JudgeGtestRun("gtest.t.own", Exited(0, kGtestOutput), {}, &log);
  EXPECT_EQ(log.passed(), 1);
  EXPECT_EQ(log.skipped(), 1);
  CheckLog required;
  JudgeGtestRun("gtest.t.own", Exited(0, kGtestOutput), {"A.Skips"}, &required);
  EXPECT_EQ(required.failed(), 1);
}

TEST(GtestVerdicts, NothingRunIsNotAPass) {
  CheckLog none, all_skipped, crashed;
  JudgeGtestRun("g", Exited(0, "[  PASSED  ] 0 tests.\n"), {}, &none);
  EXPECT_EQ(none.failed(), 1);
  JudgeGtestRun("g", Exited(0, "x.cc:1: Skipped\n\n[  SKIPPED ] A.B (0 ms)\n"), {}, &all_skipped);
  EXPECT_EQ(all_skipped.passed(), 0);
  EXPECT_EQ(all_skipped.failed(), 0);
  EXPECT_EQ(all_skipped.skipped(), 2);
  ChildResult c = Killed(6);
  c.output = "[       OK ] A.Runs (1 ms)\n";
  JudgeGtestRun("g", c, {}, &crashed);
  EXPECT_EQ(crashed.failed(), 1);
}

TEST(ProbeVerdicts, UnfinishedProbeFails) {
  CheckLog log;
  JudgeOwnProbe(*FindGuestProfile("arm64-6.1"), Exited(0, "PROBE at_feature_size=0\n"), {}, {}, &log);
  EXPECT_EQ(log.failed(), 1);
}

}  // namespace
}  // namespace kernel_vm
}  // namespace rseqmalloc

// Verdicts on the raw-syscall probes (rseq_probes.cc): what the kernel itself offers.
#include <errno.h>

#include <cstdlib>
#include <string>

#include "tests/kernel_vm/guest_rseq_abi.h"
#include "tests/kernel_vm/guest_verdicts.h"

namespace rseqmalloc {
namespace kernel_vm {
namespace {

long long Num(const ChildResult& run, const char* key) {
  std::string v = FindTagged(run.output, "PROBE", key, "");
  if (v.empty()) return -999999;
  return strtoll(v.c_str(), nullptr, 0);
}

std::string Seen(const ChildResult& run, std::initializer_list<const char*> keys) {
  std::string s;
  for (const char* k : keys) s += std::string(k) + "=" + FindTagged(run.output, "PROBE", k, "?") + " ";
  if (!s.empty()) s.pop_back();
  return s;
}

std::string ErrnoText(int e) { return e == 0 ? "0" : "-" + std::to_string(e); }

}  // namespace

void JudgeOwnProbe(const GuestProfile& profile, const ChildResult& run, const RseqStats& before,
                   const RseqStats& after, CheckLog* log) {
  const bool finished = run.Succeeded() && Num(run, "done") == 1;
  log->Expect("probe.own.ran", finished, "probe exits 0 after all steps", run.Describe());
  if (!finished) return;

  log->Expect("probe.auxv",
              Num(run, "at_feature_size") == (long long)profile.at_feature_size &&
                  Num(run, "at_align") == (long long)profile.at_align,
              "AT_RSEQ_FEATURE_SIZE=" + std::to_string(profile.at_feature_size) +
                  " AT_RSEQ_ALIGN=" + std::to_string(profile.at_align),
              Seen(run, {"at_feature_size", "at_align"}));

  const long long want_len = profile.at_feature_size > 32 ? (long long)profile.at_feature_size : 32;
  const long long cpus = Num(run, "possible_cpus");
  log->Expect("probe.own.register",
              Num(run, "own_register") == 0 && Num(run, "own_len") == want_len &&
                  Num(run, "cpu_id") >= 0 && Num(run, "cpu_id") < cpus,
              "rseq(len=" + std::to_string(want_len) + ") in a 256-aligned area returns 0, cpu_id valid",
              Seen(run, {"own_len", "own_register", "cpu_id", "possible_cpus"}));

  const long long flags = Num(run, "flags");
  log->Expect("probe.own.slice_available_flag",
              profile.slice_ext ? (flags & kRseqFlagSliceExtAvailable) != 0
                                : (flags & (kRseqFlagSliceExtAvailable | kRseqFlagSliceExtEnabled)) == 0,
              profile.slice_ext ? "flags has SLICE_EXT_AVAILABLE (0x10)" : "flags without slice bits",
              Seen(run, {"flags"}));

  const long long set = Num(run, "prctl_set");
  bool prctl_ok = set == (profile.prctl_errno_own == 0 ? 0 : -profile.prctl_errno_own);
  if (profile.prctl_errno_own == 0) prctl_ok &= (Num(run, "flags_after_prctl") & kRseqFlagSliceExtEnabled) != 0;
  log->Expect("probe.own.prctl_enable", prctl_ok,
              "prctl(PR_RSEQ_SLICE_EXTENSION, SET, ENABLE) = " + ErrnoText(profile.prctl_errno_own) +
                  (profile.prctl_errno_own == 0 ? " and flags gains ENABLED (0x20)" : ""),
              Seen(run, {"prctl_set", "flags_after_prctl"}));

  log->Expect("probe.own.slice_yield_syscall",
              Num(run, "slice_yield") == (profile.yield_errno == 0 ? 0 : -profile.yield_errno),
              "syscall(471) without a grant = " + ErrnoText(profile.yield_errno),
              Seen(run, {"slice_yield"}));

  const long long cid = Num(run, "mm_cid_max");
  log->Expect("probe.own.mm_cid",
              Num(run, "thread_registrations_ok") == 1 &&
                  (profile.mm_cid ? cid >= 0 && cid < cpus : cid == 0),
              profile.mm_cid ? "4 threads register; every mm_cid < possible CPUs"
                             : "4 threads register; mm_cid stays 0 (field not maintained)",
              Seen(run, {"thread_registrations_ok", "mm_cid_max", "possible_cpus"}));

  log->Expect("probe.own.unregister", Num(run, "own_unregister") == 0, "unregister returns 0",
              Seen(run, {"own_unregister"}));

  if (profile.slice_ext) {
    // A grant can expire between reading `granted` and the yield (the timer runs on host time
    // while the emulated CPU may stall), and the yield then honestly returns 0. So the check is
    // not "every yield returns 1" but: grants happen, yields return 1, and the kernel counted
    // exactly as many granted yields as user space saw.
    const long long grants = Num(run, "grants"), yields = Num(run, "yields");
    const long long yields_one = Num(run, "yields_returned_one");
    const uint64_t syield = StatDelta(before, after, "syield");
    log->Expect("probe.own.slice_grants",
                grants >= 1 && yields == grants && yields_one >= 1 && yields_one <= yields &&
                    (uint64_t)yields_one == syield,
                ">=1 grant with a competitor on the same CPU; yields returning 1 >= 1 and equal to "
                "the kernel's syield count",
                Seen(run, {"grant_requests", "grants", "yields", "yields_returned_one"}) +
                    " kernel syield+" + std::to_string(syield));
    const uint64_t sgrant = StatDelta(before, after, "sgrant");
    log->Expect("kernel.stats.grants_during_probe", sgrant >= 1, "rseq/stats sgrant grows",
                "sgrant+" + std::to_string(sgrant) + " (" + FormatSliceStats(after) + ")");
    log->Report("probe.grants " + Seen(run, {"grant_requests", "grants", "yields", "yields_returned_one"}));
  }
}

void JudgeGlibcProbe(const GuestProfile& profile, const ChildResult& run, CheckLog* log) {
  const bool finished = run.Succeeded() && Num(run, "done") == 1;
  log->Expect("probe.glibc.ran", finished, "probe exits 0 after all steps", run.Describe());
  if (!finished) return;
  log->Expect("probe.glibc.registration",
              Num(run, "glibc_rseq_size") > 0 && Num(run, "glibc_cpu_id") >= 0 &&
                  Num(run, "second_register") == -EINVAL,
              "glibc registered (__rseq_size > 0, cpu_id valid); a second area gets -EINVAL",
              Seen(run, {"glibc_rseq_size", "glibc_cpu_id", "second_register"}));
  log->Expect("probe.glibc.prctl_legacy",
              Num(run, "prctl_set") == -profile.prctl_errno_glibc,
              "slice-ext prctl on glibc's 32-byte (legacy) registration = " +
                  ErrnoText(profile.prctl_errno_glibc),
              Seen(run, {"prctl_set"}));
}

}  // namespace kernel_vm
}  // namespace rseqmalloc

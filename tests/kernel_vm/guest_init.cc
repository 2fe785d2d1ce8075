// /init of the kernel_vm guests. As PID 1 it prepares the minimal system (proc, sys, debugfs,
// longer slice-extension grants), runs every check as a child process so that a crash is a
// verdict rather than a kernel panic, prints one verdict per check and a summary, and powers the
// machine off. The same binary is also the raw-syscall probe ("guest_init probe-own|probe-glibc|
// probe-ro-write <length>"), because the probes need a fresh process whose environment decides
// who registers rseq.
//
// Kernel command-line words key=value reach this program's environment:
//   RSEQMALLOC_VM_GUEST=<profile>   which kernel this is (guest_profile.cc); required
//   RSEQMALLOC_VM_QUICK=1           shorter stress phases (the CI mode)
//   RSEQMALLOC_VM_TESTS=a,b,...     the GoogleTest binaries the host put into /tests
//   RSEQMALLOC_VM_GLIBC241_TESTS=.. the same for /glibc241/tests (x86_64-7.3); a missing one fails
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/kernel_vm/check_log.h"
#include "tests/kernel_vm/child_process.h"
#include "tests/kernel_vm/guest_profile.h"
#include "tests/kernel_vm/guest_system.h"
#include "tests/kernel_vm/guest_verdicts.h"
#include "tests/kernel_vm/kernel_rseq_stats.h"
#include "tests/kernel_vm/rseq_probes.h"

namespace rseqmalloc {
namespace kernel_vm {
namespace {

constexpr char kSelf[] = "/init";
constexpr char kStress[] = "/bin/alloc_stress";
constexpr char kTestDir[] = "/tests";
// Dynamically linked programs, run with Debian trixie's glibc 2.41 (its ld.so and libc are in
// /lib64 and /lib/x86_64-linux-gnu of the initramfs).
constexpr char kGlibc241Stress[] = "/glibc241/alloc_stress";
constexpr char kGlibc241TestDir[] = "/glibc241/tests";
constexpr char kNoGlibcRseq[] = "GLIBC_TUNABLES=glibc.pthread.rseq=0";
constexpr int kChildTimeoutSeconds = 180;

std::vector<std::string> ChildEnv(bool glibc_owns_rseq) {
  std::vector<std::string> env = {"PATH=/bin", "HOME=/tmp", "TMPDIR=/tmp"};
  if (!glibc_owns_rseq) env.push_back(kNoGlibcRseq);
  return env;
}

std::vector<std::string> ListTests(const char* dir_name) {
  std::vector<std::string> tests;
  if (DIR* d = opendir(dir_name)) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') tests.push_back(e->d_name);
    closedir(d);
  }
  std::sort(tests.begin(), tests.end());
  return tests;
}

std::vector<std::string> SplitCommas(const char* text) {
  std::vector<std::string> out;
  std::string cur;
  for (const char* p = text ? text : ""; ; ++p) {
    if (*p == ',' || *p == '\0') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
      if (*p == '\0') break;
    } else {
      cur += *p;
    }
  }
  return out;
}

bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Tests that must not skip on this guest: the kernel offers what they need.
std::vector<std::string> MustRun(const GuestProfile& profile, const std::string& variant) {
  std::vector<std::string> tests = {"PerCpuSlabTest.NeverWritesKernelOwnedFields"};
  const bool optimized = (variant == "own" && profile.optimized_rseq) || variant == "glibc241";
  if (optimized && profile.slice_ext) tests.push_back("SliceExtensionTest.GuardRequestsWhenSupported");
  return tests;
}

void RunTests(const GuestProfile& profile, const char* dir, const std::vector<std::string>& expected,
              const std::vector<const char*>& variants, CheckLog* log) {
  const std::vector<std::string> present = ListTests(dir);
  for (const std::string& test : expected) {
    if (!Contains(present, test)) {
      for (const char* variant : variants)
        log->Expect("gtest." + test + "." + variant, false, "binary present", "missing from the initramfs");
    }
  }
  for (const std::string& test : present) {
    for (const char* variant : variants) {
      const bool glibc = strcmp(variant, "own") != 0;
      const std::string prefix = "  [" + test + "." + variant + "] ";
      ChildResult run = RunChild({std::string(dir) + "/" + test}, ChildEnv(glibc),
                                 kChildTimeoutSeconds, prefix.c_str());
      JudgeGtestRun("gtest." + test + "." + variant, run, MustRun(profile, variant), log);
    }
  }
}

bool RunGuest(const GuestProfile& profile, bool quick) {
  CheckLog log;
  utsname u{};
  uname(&u);
  log.Report(std::string("kernel ") + u.release + " " + u.machine);
  printf("kernel_vm guest %s: %s %s %s\n", profile.name, u.sysname, u.release, u.machine);
  log.Expect("kernel.version",
             strncmp(u.release, profile.release_prefix, strlen(profile.release_prefix)) == 0 &&
                 strcmp(u.machine, profile.machine) == 0,
             std::string("release ") + profile.release_prefix + "*, machine " + profile.machine,
             std::string(u.release) + " " + u.machine);

  // Longer grants (the maximum, 50 us) so that emulated user space sees most of them before the
  // kernel's timer revokes them.
  const std::string nsec = SetSliceExtNsec("50000");
  if (profile.slice_ext) {
    log.Expect("kernel.slice_ext_nsec", nsec == "50000", "debugfs rseq/slice_ext_nsec accepts 50000",
               nsec.empty() ? "(file absent)" : nsec);
  }

  RseqStats before = ReadKernelRseqStats();
  ChildResult own_probe = RunChild({kSelf, "probe-own"}, ChildEnv(false), 60, "  [probe-own] ");
  RseqStats after = ReadKernelRseqStats();
  JudgeOwnProbe(profile, own_probe, before, after, &log);

  ChildResult glibc_probe = RunChild({kSelf, "probe-glibc"}, ChildEnv(true), 60, "  [probe-glibc] ");
  JudgeGlibcProbe(profile, glibc_probe, &log);

  // Read-only enforcement, raw: the longest registration the kernel accepts (33 bytes on 7.3,
  // optimized; 32 on 6.1) must be killed for writing cpu_id_start exactly where the kernel runs
  // optimized mode, and a 32-byte (legacy) one must survive with the field rewritten.
  const std::string longest = std::to_string(profile.at_feature_size > 32 ? profile.at_feature_size : 32);
  JudgeKernelOwnedWrite("kernel.ro.longest_registration_write",
                        profile.optimized_rseq,
                        RunChild({kSelf, "probe-ro-write", longest}, ChildEnv(false), 60,
                                 ("  [ro-" + longest + "] ").c_str()),
                        &log);
  JudgeKernelOwnedWrite("kernel.ro.legacy_registration_write", false,
                        RunChild({kSelf, "probe-ro-write", "32"}, ChildEnv(false), 60, "  [ro-32] "), &log);

  const std::vector<std::string> stress_args =
      quick ? std::vector<std::string>{kStress, "--churn-ms", "700", "--contention-ms", "1500"}
            : std::vector<std::string>{kStress, "--churn-ms", "2000", "--contention-ms", "4000"};
  std::vector<const char*> stress_variants = {"own", "glibc"};
  if (profile.glibc_241) stress_variants.push_back("glibc241");
  for (const char* variant : stress_variants) {
    const bool glibc = strcmp(variant, "own") != 0;
    std::vector<std::string> args = stress_args;
    if (strcmp(variant, "glibc241") == 0) {
      args[0] = kGlibc241Stress;
      if (access(kGlibc241Stress, X_OK) != 0) {
        log.Expect("alloc.glibc241.present", false, std::string(kGlibc241Stress) + " in the initramfs",
                   "missing");
        continue;
      }
    }
    const std::string tag = std::string("  [stress-") + variant + "] ";
    before = ReadKernelRseqStats();
    ChildResult run = RunChild(args, ChildEnv(glibc), kChildTimeoutSeconds, tag.c_str());
    after = ReadKernelRseqStats();
    JudgeAllocatorRun(profile, variant, run, before, after, &log);
    // Next to the stress that survives: the same registration, with cpu_id_start overwritten,
    // must be killed by the kernel where it is optimized (the kernel's view of the mode).
    const std::string ro_tag = std::string("  [ro-") + variant + "] ";
    const bool optimized = (!glibc && profile.optimized_rseq) || strcmp(variant, "glibc241") == 0;
    JudgeKernelOwnedWrite(std::string("alloc.") + variant + ".kernel_owned_write", optimized,
                          RunChild({args[0], "--write-kernel-owned"}, ChildEnv(glibc), 60,
                                   ro_tag.c_str()),
                          &log);
  }

  const std::vector<std::string> expected = SplitCommas(getenv("RSEQMALLOC_VM_TESTS"));
  RunTests(profile, kTestDir, expected, {"own", "glibc"}, &log);
  if (profile.glibc_241) {
    RunTests(profile, kGlibc241TestDir, SplitCommas(getenv("RSEQMALLOC_VM_GLIBC241_TESTS")),
             {"glibc241"}, &log);
  }

  log.Report("kernel.rseq_stats " + FormatSliceStats(ReadKernelRseqStats()));
  return log.Finish(profile.name);
}

}  // namespace
}  // namespace kernel_vm
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::kernel_vm;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc > 1 && strcmp(argv[1], "probe-own") == 0) return RunOwnRegistrationProbe();
  if (argc > 1 && strcmp(argv[1], "probe-glibc") == 0) return RunGlibcRegistrationProbe();
  if (argc > 2 && strcmp(argv[1], "probe-ro-write") == 0) {
    return RunKernelOwnedWriteProbe(static_cast<uint32_t>(atoi(argv[2])));
  }

  const bool pid1 = getpid() == 1;
  if (pid1) MountGuestFileSystems();
  const GuestProfile* profile = FindGuestProfile(getenv("RSEQMALLOC_VM_GUEST"));
  bool ok = false;
  if (profile == nullptr) {
    printf("KVM-SUMMARY guest=unknown passed=0 failed=1 skipped=0 (RSEQMALLOC_VM_GUEST=%s)\n",
           getenv("RSEQMALLOC_VM_GUEST") ? getenv("RSEQMALLOC_VM_GUEST") : "unset");
  } else {
    const char* quick = getenv("RSEQMALLOC_VM_QUICK");
    ok = RunGuest(*profile, quick != nullptr && strcmp(quick, "1") == 0);
  }
  if (!pid1) return ok ? 0 : 1;
  PowerOffGuest();
  for (;;) pause();  // PID 1 must never exit: that would panic the kernel
}

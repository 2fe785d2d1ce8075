// /init of the kernel_vm guests. As PID 1 it prepares the minimal system (proc, sys, debugfs,
// longer slice-extension grants), runs every check as a child process so that a crash is a
// verdict rather than a kernel panic, prints one verdict per check and a summary, and powers the
// machine off. The same binary is also the raw-syscall probe ("guest_init probe-own|probe-glibc"),
// because the probes need a fresh process whose environment decides who registers rseq.
//
// Kernel command-line words key=value reach this program's environment:
//   RSEQMALLOC_VM_GUEST=<profile>   which kernel this is (guest_profile.cc); required
//   RSEQMALLOC_VM_QUICK=1           shorter stress phases (the CI mode)
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/kernel_vm/check_log.h"
#include "tests/kernel_vm/child_process.h"
#include "tests/kernel_vm/guest_profile.h"
#include "tests/kernel_vm/guest_verdicts.h"
#include "tests/kernel_vm/kernel_rseq_stats.h"
#include "tests/kernel_vm/rseq_probes.h"

namespace rseqmalloc {
namespace kernel_vm {
namespace {

constexpr char kSelf[] = "/init";
constexpr char kStress[] = "/bin/alloc_stress";
constexpr char kTestDir[] = "/tests";
constexpr char kNoGlibcRseq[] = "GLIBC_TUNABLES=glibc.pthread.rseq=0";
constexpr int kChildTimeoutSeconds = 180;

void MountSystem() {
  for (const char* dir : {"/proc", "/sys", "/dev", "/tmp"}) mkdir(dir, 0755);
  mount("proc", "/proc", "proc", 0, nullptr);
  mount("sysfs", "/sys", "sysfs", 0, nullptr);
  mount("debugfs", "/sys/kernel/debug", "debugfs", 0, nullptr);
  mount("devtmpfs", "/dev", "devtmpfs", 0, nullptr);  // fails harmlessly if absent
  mount("tmpfs", "/tmp", "tmpfs", 0, nullptr);
}

std::vector<std::string> ChildEnv(bool glibc_owns_rseq) {
  std::vector<std::string> env = {"PATH=/bin", "HOME=/tmp", "TMPDIR=/tmp"};
  if (!glibc_owns_rseq) env.push_back(kNoGlibcRseq);
  return env;
}

std::vector<std::string> ListTests() {
  std::vector<std::string> tests;
  if (DIR* d = opendir(kTestDir)) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') tests.push_back(e->d_name);
    closedir(d);
  }
  std::sort(tests.begin(), tests.end());
  return tests;
}

bool RunGuest(const GuestProfile& profile, bool quick) {
  CheckLog log;
  utsname u{};
  uname(&u);
  log.Report(std::string("kernel ") + u.release + " " + u.machine);
  printf("kernel_vm guest %s: %s %s %s\n", profile.name, u.sysname, u.release, u.machine);

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

  const std::vector<std::string> stress_args =
      quick ? std::vector<std::string>{kStress, "--churn-ms", "700", "--contention-ms", "1500"}
            : std::vector<std::string>{kStress, "--churn-ms", "2000", "--contention-ms", "4000"};
  for (const char* variant : {"own", "glibc"}) {
    const bool glibc = strcmp(variant, "glibc") == 0;
    before = ReadKernelRseqStats();
    ChildResult run = RunChild(stress_args, ChildEnv(glibc), kChildTimeoutSeconds,
                               glibc ? "  [stress-glibc] " : "  [stress-own] ");
    after = ReadKernelRseqStats();
    JudgeAllocatorRun(profile, variant, run, before, after, &log);
  }

  for (const std::string& test : ListTests()) {
    for (const char* variant : {"own", "glibc"}) {
      const bool glibc = strcmp(variant, "glibc") == 0;
      const std::string prefix = "  [" + test + "." + variant + "] ";
      ChildResult run = RunChild({std::string(kTestDir) + "/" + test}, ChildEnv(glibc),
                                 kChildTimeoutSeconds, prefix.c_str());
      log.Expect("gtest." + test + "." + variant, run.Succeeded(), "exit 0", run.Describe());
    }
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

  const bool pid1 = getpid() == 1;
  if (pid1) MountSystem();
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
  fflush(stdout);
  sync();
  reboot(RB_POWER_OFF);
  // Without a power-off driver the call returns; qemu runs with -no-reboot, so a reboot ends it.
  reboot(RB_AUTOBOOT);
  for (;;) pause();  // PID 1 must never exit: that would panic the kernel
}

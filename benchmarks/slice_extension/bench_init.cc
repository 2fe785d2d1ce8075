// /init of the slice-extension benchmark guest (benchmarks/slice_extension/run.sh). As PID 1 it
// mounts the minimal system, then runs /bin/refill_contention repeatedly, interleaving the
// allocator's extension on and off (RSEQMALLOC_SLICE_EXTENSION=1/0) under two grant lengths
// (the kernel's default and 50 us), reads the kernel's rseq/stats around every run as an
// independent witness of grants, prints one "SLICERUN ..." line per run and powers off.
//
// Kernel command-line words key=value reach this program's environment:
//   SLICEBENCH_REPS=N        interleaved repetitions per configuration (default 5)
//   SLICEBENCH_ARGS=a,b,...  extra arguments for refill_contention, comma-separated
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/kernel_vm/child_process.h"
#include "tests/kernel_vm/guest_system.h"
#include "tests/kernel_vm/kernel_rseq_stats.h"

namespace {

using rseqmalloc::kernel_vm::FindLine;
using rseqmalloc::kernel_vm::MountGuestFileSystems;
using rseqmalloc::kernel_vm::PowerOffGuest;
using rseqmalloc::kernel_vm::ReadKernelRseqStats;
using rseqmalloc::kernel_vm::RseqStats;
using rseqmalloc::kernel_vm::RunChild;
using rseqmalloc::kernel_vm::SetSliceExtNsec;
using rseqmalloc::kernel_vm::StatDelta;

constexpr char kWorkload[] = "/bin/refill_contention";
constexpr char kNsecPath[] = "/sys/kernel/debug/rseq/slice_ext_nsec";

std::string ReadFirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

void RunOnce(const std::vector<std::string>& argv, const std::string& nsec, bool extension,
             int rep) {
  // glibc must not register rseq, so that rseqmalloc registers the optimized (V2) area that
  // the slice extension needs.
  const std::vector<std::string> env = {"PATH=/bin", "GLIBC_TUNABLES=glibc.pthread.rseq=0",
                                        std::string("RSEQMALLOC_SLICE_EXTENSION=") +
                                            (extension ? "1" : "0")};
  const RseqStats before = ReadKernelRseqStats();
  const rseqmalloc::kernel_vm::ChildResult child = RunChild(argv, env, 120, "  | ");
  const RseqStats after = ReadKernelRseqStats();
  const std::string line = FindLine(child.output, "SLICEBENCH");
  printf("SLICERUN nsec=%s ext=%d rep=%d ok=%d k_sgrant=%llu k_sexpir=%llu k_srevok=%llu "
         "k_syield=%llu k_sabort=%llu %s\n",
         nsec.c_str(), extension ? 1 : 0, rep, child.Succeeded() && !line.empty() ? 1 : 0,
         static_cast<unsigned long long>(StatDelta(before, after, "sgrant")),
         static_cast<unsigned long long>(StatDelta(before, after, "sexpir")),
         static_cast<unsigned long long>(StatDelta(before, after, "srevok")),
         static_cast<unsigned long long>(StatDelta(before, after, "syield")),
         static_cast<unsigned long long>(StatDelta(before, after, "sabort")), line.c_str());
  if (!child.Succeeded()) printf("SLICERUN-ERROR %s\n", child.Describe().c_str());
  fflush(stdout);
}

}  // namespace

int main() {
  MountGuestFileSystems();
  utsname u{};
  uname(&u);
  printf("SLICEBENCH-KERNEL %s %s nproc=%ld\n", u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN));

  const char* reps_env = getenv("SLICEBENCH_REPS");
  const int reps = reps_env ? atoi(reps_env) : 5;
  std::vector<std::string> argv = {kWorkload};
  if (const char* extra = getenv("SLICEBENCH_ARGS")) {
    std::stringstream words(extra);
    for (std::string word; std::getline(words, word, ',');)
      if (!word.empty()) argv.push_back(word);
  }

  // The kernel's default grant first, then the longest one: under emulation short grants are
  // often revoked before user space sees them.
  const std::string default_nsec = ReadFirstLine(kNsecPath);
  const std::vector<std::string> grant_lengths = {default_nsec, "50000"};
  for (int rep = 0; rep < reps; ++rep) {
    for (const std::string& nsec : grant_lengths) {
      const std::string set = SetSliceExtNsec(nsec.c_str());
      if (set != nsec) printf("SLICERUN-ERROR slice_ext_nsec %s reads back '%s'\n", nsec.c_str(), set.c_str());
      // Alternate which setting goes first, so that drift in the host's load hits both equally.
      const bool first = rep % 2 == 0;
      RunOnce(argv, nsec, first, rep);
      RunOnce(argv, nsec, !first, rep);
    }
  }
  printf("SLICEBENCH-DONE\n");
  PowerOffGuest();
  return 0;
}

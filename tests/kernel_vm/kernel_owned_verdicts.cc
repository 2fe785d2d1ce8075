// Verdicts on the read-only enforcement experiment (kernel_owned_write.h): whether the kernel
// killed a process that wrote a kernel-owned rseq field is the kernel's own statement of the
// registration's mode.
#include <signal.h>

#include <cstdlib>
#include <sstream>
#include <string>

#include "tests/kernel_vm/guest_verdicts.h"

namespace rseqmalloc {
namespace kernel_vm {
namespace {

// Value of key=value among the words of the last line starting with "<tag> ".
std::string Word(const ChildResult& run, const std::string& tag, const std::string& key) {
  std::istringstream words(FindLine(run.output, tag));
  std::string w;
  while (words >> w)
    if (w.compare(0, key.size() + 1, key + "=") == 0) return w.substr(key.size() + 1);
  return "";
}

}  // namespace

void JudgeKernelOwnedWrite(const std::string& check, bool expect_killed, const ChildResult& run,
                           CheckLog* log) {
  const bool killed = run.started && !run.timed_out && run.term_signal == SIGSEGV;
  const bool survived = run.Succeeded() && Word(run, "RO", "survived") == "1";
  const std::string after = Word(run, "RO", "cpu_id_start_after");
  const std::string written = Word(run, "RO", "written");
  std::string seen = run.Describe();
  if (survived) seen += ", cpu_id_start " + written + " -> " + after;
  if (expect_killed) {
    log->Expect(check, killed,
                "killed by SIGSEGV: the kernel validates the fields it owns (optimized mode)",
                seen);
  } else {
    // Survival alone could mean the kernel never looked; the field must also have been rewritten
    // with a real CPU number (legacy mode updates the IDs after every migration).
    log->Expect(check, survived && !after.empty() && after != written,
                "survives and the kernel rewrites cpu_id_start (legacy mode)", seen);
  }
}

}  // namespace kernel_vm
}  // namespace rseqmalloc

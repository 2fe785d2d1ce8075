// Runs a program inside the guest with a chosen environment, captures what it prints and how it
// ended, and kills it when it overruns its time budget (a hung child must not hang the guest).
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_CHILD_PROCESS_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_CHILD_PROCESS_H_

#include <string>
#include <vector>

namespace rseqmalloc {
namespace kernel_vm {

struct ChildResult {
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;    // valid when the child exited
  int term_signal = 0;   // non-zero when a signal ended it (SIGSEGV: e.g. an rseq ABI violation)
  std::string output;    // stdout and stderr, interleaved

  bool Succeeded() const { return started && !timed_out && term_signal == 0 && exit_code == 0; }
  std::string Describe() const;
};

// argv[0] is the program path. `env` replaces the environment entirely. Every line the child
// prints is also echoed to our stdout with `echo_prefix` in front, so the console log shows it.
ChildResult RunChild(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     int timeout_seconds, const char* echo_prefix);

// Value of "<tag> <key>=<value>" in output (the last occurrence), or `missing` when absent.
std::string FindTagged(const std::string& output, const std::string& tag, const std::string& key,
                       const std::string& missing = "");

// The text after "<tag> " on the last line starting with it, or "" when absent.
std::string FindLine(const std::string& output, const std::string& tag);

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_CHILD_PROCESS_H_

// Verdict lines of the guest: one "CHECK <name>: PASS|FAIL|SKIP (<detail>)" line per check, a
// final "KVM-SUMMARY" line, and "KVM-REPORT" lines with the numbers worth quoting. The host side
// (run.sh) parses exactly these prefixes, so they are defined in one place.
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_CHECK_LOG_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_CHECK_LOG_H_

#include <string>
#include <vector>

namespace rseqmalloc {
namespace kernel_vm {

class CheckLog {
 public:
  // Records and prints one verdict; `expected` says what the check demands, `seen` what it got.
  void Expect(const std::string& name, bool ok, const std::string& expected, const std::string& seen);
  void Skip(const std::string& name, const std::string& why);
  // Remembered and printed again at the end, after the summary.
  void Report(const std::string& line);
  // Prints the summary and the report lines; returns true when nothing failed.
  bool Finish(const std::string& guest);

  int passed() const { return passed_; }
  int failed() const { return failed_; }
  int skipped() const { return skipped_; }

 private:
  int passed_ = 0, failed_ = 0, skipped_ = 0;
  std::vector<std::string> reports_;
};

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_CHECK_LOG_H_

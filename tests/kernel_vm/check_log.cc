#include "tests/kernel_vm/check_log.h"

#include <stdio.h>

namespace rseqmalloc {
namespace kernel_vm {

void CheckLog::Expect(const std::string& name, bool ok, const std::string& expected,
                      const std::string& seen) {
  (ok ? passed_ : failed_)++;
  printf("CHECK %s: %s (expected %s; got %s)\n", name.c_str(), ok ? "PASS" : "FAIL",
         expected.c_str(), seen.c_str());
  fflush(stdout);
}

void CheckLog::Skip(const std::string& name, const std::string& why) {
  ++skipped_;
  printf("CHECK %s: SKIP (%s)\n", name.c_str(), why.c_str());
  fflush(stdout);
}

void CheckLog::Report(const std::string& line) { reports_.push_back(line); }

bool CheckLog::Finish(const std::string& guest) {
  for (const auto& r : reports_) printf("KVM-REPORT %s %s\n", guest.c_str(), r.c_str());
  printf("KVM-SUMMARY guest=%s passed=%d failed=%d skipped=%d\n", guest.c_str(), passed_, failed_,
         skipped_);
  fflush(stdout);
  return failed_ == 0;
}

}  // namespace kernel_vm
}  // namespace rseqmalloc

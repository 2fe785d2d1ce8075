// Verdicts on a GoogleTest binary run inside a guest. A skipped test is reported as SKIP (never
// counted as a pass), a binary whose tests were all skipped is a SKIP rather than a PASS, a binary
// that ran no test at all fails, and tests the guest's kernel must be able to run fail if they
// skipped.
#include <string.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "tests/kernel_vm/guest_verdicts.h"

namespace rseqmalloc {
namespace kernel_vm {
namespace {

// "[  SKIPPED ] Suite.Name (3 ms)" -> "Suite.Name"; "" if the line is not a per-test result.
std::string ResultTest(const std::string& line, const char* marker) {
  if (line.rfind(marker, 0) != 0) return "";
  std::string rest = line.substr(strlen(marker));
  const size_t paren = rest.find(" (");
  if (paren == std::string::npos) return "";  // the summary lists names without a duration
  return rest.substr(0, paren);
}

}  // namespace

GtestOutcome ParseGtestOutput(const std::string& output) {
  GtestOutcome out;
  std::istringstream in(output);
  std::string line, skip_reason;
  bool in_skip_message = false;
  while (std::getline(in, line)) {
    if (line.size() > 9 && line.compare(line.size() - 9, 9, ": Skipped") == 0) {
      in_skip_message = true;
      skip_reason.clear();
      continue;
    }
    if (in_skip_message && skip_reason.empty() && !line.empty() && line[0] != '[') {
      skip_reason = line;
    }
    std::string name;
    if (!(name = ResultTest(line, "[       OK ] ")).empty()) {
      out.passed.push_back(name);
    } else if (!(name = ResultTest(line, "[  SKIPPED ] ")).empty()) {
      out.skipped.push_back({name, skip_reason.empty() ? "GTEST_SKIP" : skip_reason});
      in_skip_message = false;
      skip_reason.clear();
    } else if (!(name = ResultTest(line, "[  FAILED  ] ")).empty()) {
      out.failed.push_back(name);
    }
  }
  return out;
}

void JudgeGtestRun(const std::string& check, const ChildResult& run,
                   const std::vector<std::string>& must_run, CheckLog* log) {
  const GtestOutcome o = ParseGtestOutput(run.output);
  std::string seen = run.Describe() + ", " + std::to_string(o.passed.size()) + " passed, " +
                     std::to_string(o.skipped.size()) + " skipped, " +
                     std::to_string(o.failed.size()) + " failed";
  for (const std::string& f : o.failed) seen += " " + f;
  for (const auto& s : o.skipped) {
    const bool required =
        std::find(must_run.begin(), must_run.end(), s.first) != must_run.end();
    if (required) {
      log->Expect(check + "." + s.first, false, "runs on this kernel", "skipped: " + s.second);
    } else {
      log->Skip(check + "." + s.first, s.second);
    }
  }
  if (!run.Succeeded() || !o.failed.empty()) {
    log->Expect(check, false, "exit 0, no failed test", seen);
  } else if (o.passed.empty() && o.skipped.empty()) {
    log->Expect(check, false, "at least one test ran", seen);
  } else if (o.passed.empty()) {
    log->Skip(check, "every test skipped (" + seen + ")");
  } else {
    log->Expect(check, true, "exit 0, no failed test", seen);
  }
}

}  // namespace kernel_vm
}  // namespace rseqmalloc

#include "tests/kernel_vm/kernel_rseq_stats.h"

#include <fstream>
#include <sstream>

namespace rseqmalloc {
namespace kernel_vm {
namespace {
constexpr const char kStatsPath[] = "/sys/kernel/debug/rseq/stats";
constexpr const char kSliceNsecPath[] = "/sys/kernel/debug/rseq/slice_ext_nsec";
}  // namespace

RseqStats ReadKernelRseqStats() {
  RseqStats stats;
  std::ifstream in(kStatsPath);
  std::string line;
  // Lines look like "sgrant:              12".
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key;
    uint64_t value;
    if (words >> key >> value && !key.empty() && key.back() == ':') {
      key.pop_back();
      stats[key] = value;
    }
  }
  return stats;
}

uint64_t StatDelta(const RseqStats& before, const RseqStats& after, const std::string& key) {
  auto b = before.find(key), a = after.find(key);
  if (b == before.end() || a == after.end() || a->second < b->second) return 0;
  return a->second - b->second;
}

std::string FormatSliceStats(const RseqStats& stats) {
  if (stats.empty()) return "(no rseq/stats)";
  std::ostringstream out;
  for (const char* key : {"sgrant", "sexpir", "srevok", "syield", "sabort"}) {
    auto it = stats.find(key);
    out << key << "=" << (it == stats.end() ? std::string("absent") : std::to_string(it->second))
        << " ";
  }
  std::string s = out.str();
  s.pop_back();
  return s;
}

std::string SetSliceExtNsec(const char* value) {
  {
    std::ofstream out(kSliceNsecPath);
    if (!out) return "";
    out << value << "\n";
  }
  std::ifstream in(kSliceNsecPath);
  std::string back;
  in >> back;
  return back;
}

}  // namespace kernel_vm
}  // namespace rseqmalloc

// Verdicts on alloc_stress runs: the allocator's own account of its rseq mode and its
// slice-extension counters, checked against what the kernel under test offers.
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

#include "tests/kernel_vm/guest_verdicts.h"

namespace rseqmalloc {
namespace kernel_vm {
namespace {

constexpr const char kPlaceholderPrefix[] = "rseq: placeholder";
constexpr const char kRealPrefix[] = "rseq: owner=";

// "rseq: owner=own registered=64 ..." -> {owner: own, registered: 64, ...}; false if any of the
// eight documented fields is missing or an enumerated value is outside its documented set.
bool ParseStatus(const std::string& line, std::map<std::string, std::string>* fields) {
  std::istringstream words(line.substr(6));
  std::string word;
  while (words >> word) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) return false;
    (*fields)[word.substr(0, eq)] = word.substr(eq + 1);
  }
  auto in = [&](const char* key, std::initializer_list<const char*> allowed) {
    auto it = fields->find(key);
    if (it == fields->end()) return false;
    for (const char* a : allowed)
      if (it->second == a) return true;
    return false;
  };
  auto number = [&](const char* key) {
    auto it = fields->find(key);
    return it != fields->end() && !it->second.empty() &&
           it->second.find_first_not_of("0123456789") == std::string::npos;
  };
  return in("owner", {"glibc", "own", "none"}) && number("registered") && number("feature_size") &&
         in("mode", {"legacy", "optimized", "unavailable"}) &&
         in("mode_source", {"kernel", "inferred", "none"}) && in("key", {"mm_cid", "cpu_id"}) &&
         number("slots") && in("slice_ext", {"unsupported", "available", "enabled"});
}

long long Stat(const ChildResult& run, const char* name) {
  std::string v = FindTagged(run.output, "STAT", name, "unknown");
  if (v == "unknown") return -1;
  return strtoll(v.c_str(), nullptr, 10);
}

bool StressPassed(const ChildResult& run, std::string* seen) {
  std::istringstream in(run.output);
  std::string line;
  int phases = 0;
  bool ok = run.Succeeded();
  while (std::getline(in, line)) {
    if (line.rfind("STRESS phase=", 0) != 0) continue;
    ++phases;
    ok &= line.find("result=ok") != std::string::npos;
  }
  *seen = run.Describe() + ", " + std::to_string(phases) + " phases, " +
          FindTagged(run.output, "STRESS", "failures", "?") + " corrupted blocks";
  return ok && phases == 2;
}

// The line without its slice_ext word: glibc 2.41's registration gets the extension enabled
// lazily, so only that word may change between the first status line and the one after load.
std::string WithoutSliceExt(const std::string& status) {
  const size_t at = status.find(" slice_ext=");
  if (at == std::string::npos) return status;
  const size_t end = status.find(' ', at + 1);
  return status.substr(0, at) + (end == std::string::npos ? "" : status.substr(end));
}

}  // namespace

void JudgeAllocatorRun(const GuestProfile& profile, const std::string& variant,
                       const ChildResult& run, const RseqStats& before, const RseqStats& after,
                       CheckLog* log) {
  const std::string prefix = "alloc." + variant + ".";
  std::string stress_seen;
  log->Expect(prefix + "stress", StressPassed(run, &stress_seen),
              "all blocks intact across threads, CPUs and cross-thread frees; exit 0", stress_seen);

  const std::string status = FindLine(run.output, "STATUS");
  log->Report("status." + variant + " " + (status.empty() ? "(none)" : status));
  if (status.rfind(kPlaceholderPrefix, 0) == 0) {
    log->Skip(prefix + "status", "allocator not present");
    log->Skip(prefix + "slice_ext_counters", "allocator not present");
    log->Report("counters." + variant + " (allocator not present)");
    return;
  }
  std::map<std::string, std::string> f;
  const bool parsed = status.rfind(kRealPrefix, 0) == 0 && ParseStatus(status, &f);
  log->Expect(prefix + "status_format", parsed,
              "\"rseq: owner=.. registered=.. feature_size=.. mode=.. mode_source=.. key=.. slots=.. "
              "slice_ext=..\"",
              status.empty() ? "(no STATUS line)" : status);
  if (!parsed) return;

  // own: the allocator registered (GLIBC_TUNABLES off). glibc: static glibc 2.36's 32-byte
  // legacy registration. glibc241: trixie's glibc registers the full feature size (optimized).
  const bool own = variant == "own";
  const bool glibc241 = variant == "glibc241";
  const bool optimized = (own && profile.optimized_rseq) || glibc241;
  const bool slice = optimized && profile.slice_ext;
  const std::string want_owner = own ? "own" : "glibc";
  const std::string want_mode = optimized ? "optimized" : "legacy";
  // The kernel shows the mode (SLICE_EXT_AVAILABLE) only where it has the slice extension.
  const std::string want_source = slice ? "kernel" : "inferred";
  // glibc 2.41's registration has the extension available; rseqmalloc enables it by prctl when a
  // thread first reaches a guarded slow path, which the first malloc may or may not do.
  const std::string want_slice = !slice ? "unsupported" : glibc241 ? "available|enabled" : "enabled";
  const long long registered = atoll(f["registered"].c_str());
  const long long min_registered =
      optimized && profile.at_feature_size > 32 ? (long long)profile.at_feature_size : 20;
  bool ok = f["owner"] == want_owner && f["mode"] == want_mode &&
            f["mode_source"] == want_source &&
            (want_slice.find(f["slice_ext"]) != std::string::npos && !f["slice_ext"].empty()) &&
            registered >= min_registered;
  std::string expected = "owner=" + want_owner + " registered>=" + std::to_string(min_registered) +
                         " mode=" + want_mode + " mode_source=" + want_source +
                         " slice_ext=" + want_slice;
  // With its own V2 registration the allocator must key slots by mm_cid where the kernel
  // maintains it; without mm_cid (6.1) only cpu_id is sound. Under glibc's registration on 7.3
  // either key is acceptable (glibc's 32 bytes include mm_cid).
  if (!profile.mm_cid || own) {
    const std::string want_key = profile.mm_cid ? "mm_cid" : "cpu_id";
    ok &= f["key"] == want_key;
    expected += " key=" + want_key;
  }
  if (optimized && profile.at_feature_size > 0) {
    ok &= f["feature_size"] == std::to_string(profile.at_feature_size);
    expected += " feature_size=" + std::to_string(profile.at_feature_size);
  }
  log->Expect(prefix + "status", ok, expected, status);
  const std::string after_load = FindLine(run.output, "STATUS_AFTER");
  if (glibc241) {
    std::map<std::string, std::string> a;
    const bool after_parsed = ParseStatus(after_load, &a);
    log->Expect(prefix + "status_stable",
                after_parsed && WithoutSliceExt(after_load) == WithoutSliceExt(status) &&
                    a["slice_ext"] == (slice ? "enabled" : "unsupported"),
                std::string("same status line after the stress, slice_ext=") +
                    (slice ? "enabled (by prctl, lazily)" : "unsupported"),
                after_load);
    const std::string libc = FindTagged(run.output, "LIBC", "version", "?");
    log->Expect(prefix + "libc", libc.rfind("2.41 ", 0) == 0 &&
                                     libc.find("rseq_size=" + std::to_string(profile.at_feature_size)) !=
                                         std::string::npos,
                "glibc 2.41 registered the full feature size (__rseq_size=" +
                    std::to_string(profile.at_feature_size) + ")",
                "version=" + libc);
  } else {
    log->Expect(prefix + "status_stable", after_load == status, "same status line after the stress",
                after_load);
  }

  const long long requests = Stat(run, "slice_ext.requests"), grants = Stat(run, "slice_ext.grants");
  const long long yields = Stat(run, "slice_ext.yields");
  const long long yields_one = Stat(run, "slice_ext.yields_returned_one");
  const std::string counters = "requests=" + std::to_string(requests) + " grants=" +
                               std::to_string(grants) + " yields=" + std::to_string(yields) +
                               " yields_returned_one=" + std::to_string(yields_one);
  log->Report("counters." + variant + " " + counters);
  if (slice) {
    // yields == yields_returned_one is not demanded: a grant can expire between the allocator's
    // check of `granted` and its yield (measured under TCG on a loaded host), and that yield
    // rightly returns 0. Instead the kernel's own count of granted yields must match exactly.
    const uint64_t syield = StatDelta(before, after, "syield");
    log->Expect(prefix + "slice_ext_counters",
                requests > 0 && grants >= 1 && yields_one >= 1 && yields_one <= yields &&
                    yields <= grants && (uint64_t)yields_one == syield,
                "8 threads on fewer CPUs: requests>0, grants>=1, yields<=grants, "
                "1<=yields_returned_one<=yields, yields_returned_one == kernel syield",
                counters + " kernel syield+" + std::to_string(syield));
    const uint64_t sgrant = StatDelta(before, after, "sgrant");
    log->Expect("kernel.stats.grants_during_" + variant + "_alloc", sgrant >= 1,
                "rseq/stats sgrant grows while the allocator runs",
                "sgrant+" + std::to_string(sgrant) + " (" + FormatSliceStats(after) + ")");
  } else {
    log->Expect(prefix + "slice_ext_counters", requests >= 0 && grants == 0 && yields == 0,
                "counters known; no grants without slice extension", counters);
  }
}

}  // namespace kernel_vm
}  // namespace rseqmalloc

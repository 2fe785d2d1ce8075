// The kernel's own rseq counters (debugfs rseq/stats, CONFIG_RSEQ_STATS): a witness, independent
// of anything user space reports, that slice extensions were really granted.
#ifndef RSEQMALLOC_TESTS_KERNEL_VM_KERNEL_RSEQ_STATS_H_
#define RSEQMALLOC_TESTS_KERNEL_VM_KERNEL_RSEQ_STATS_H_

#include <cstdint>
#include <map>
#include <string>

namespace rseqmalloc {
namespace kernel_vm {

using RseqStats = std::map<std::string, uint64_t>;

// Empty when the file does not exist (kernel without CONFIG_RSEQ_STATS or debugfs).
RseqStats ReadKernelRseqStats();

// after[key] - before[key], 0 when the key is missing in either.
uint64_t StatDelta(const RseqStats& before, const RseqStats& after, const std::string& key);

// "sgrant=1 sexpir=2 ..." of the slice-extension counters.
std::string FormatSliceStats(const RseqStats& stats);

// Sets debugfs rseq/slice_ext_nsec (the grant length) and returns what reads back, or "" when absent.
std::string SetSliceExtNsec(const char* value);

}  // namespace kernel_vm
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_TESTS_KERNEL_VM_KERNEL_RSEQ_STATS_H_

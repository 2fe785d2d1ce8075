#ifndef RSEQMALLOC_ALLOCATOR_CONFIG_H_
#define RSEQMALLOC_ALLOCATOR_CONFIG_H_

#include <cstddef>
#include <cstdint>

namespace rseqmalloc {

enum class SlotKeyChoice : uint8_t { kAuto, kMmCid, kCpuId };

// Settings read once from RSEQMALLOC_* environment variables (see README, "Configuration").
// Defaults are what the allocator does with no environment at all.
struct Config {
  bool verbose = false;             // RSEQMALLOC_VERBOSE: print the rseq status line at start-up
  bool rseq = true;                 // RSEQMALLOC_RSEQ: off forces the fallback front end
  SlotKeyChoice slot_key = SlotKeyChoice::kAuto;  // RSEQMALLOC_SLOT_KEY: auto, mm_cid, cpu_id
  bool slice_extension = true;      // RSEQMALLOC_SLICE_EXTENSION: off never asks the kernel
  size_t cpu_cache_bytes = 1 << 20; // RSEQMALLOC_CPU_CACHE_BYTES: per-slot cache budget
  bool stats_at_exit = false;       // RSEQMALLOC_STATS_AT_EXIT: print statistics at exit
  bool background = true;           // RSEQMALLOC_BACKGROUND: release idle memory by decay
  bool release_thread = false;      // RSEQMALLOC_RELEASE_THREAD: a thread ticks the decay
  uint32_t release_period_ms = 1000;  // RSEQMALLOC_RELEASE_PERIOD_MS: decay period (10..3600000)
};

// Parses the environment into *config without allocating. Unknown RSEQMALLOC_* names and bad
// values produce one warning line each on stderr and leave the default in place.
void ParseConfig(const char* const* environment, Config* config);

// The process's configuration, valid once the allocator is initialised.
extern Config g_config;

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_CONFIG_H_

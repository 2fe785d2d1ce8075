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
  bool prompt_release = false;      // RSEQMALLOC_PROMPT_RELEASE: release at free time above a mark
  uint32_t release_period_ms = 1000;  // RSEQMALLOC_RELEASE_PERIOD_MS: decay period (10..3600000)
  // Heap profiling and guarded sampling (docs/profiling.md). Any of the first four, or GUARD,
  // turns sampling on for the whole run.
  bool profile = false;                  // RSEQMALLOC_PROFILE: sample allocations
  size_t profile_sample_bytes = 2 << 20; // RSEQMALLOC_PROFILE_SAMPLE_BYTES: mean interval
  int profile_signal = 0;                // RSEQMALLOC_PROFILE_SIGNAL: write profiles on it
  bool profile_at_exit = false;          // RSEQMALLOC_PROFILE_AT_EXIT: write profiles at exit
  const char* profile_prefix = "rseqmalloc";  // RSEQMALLOC_PROFILE_PREFIX: profile file names
  bool guard = false;                    // RSEQMALLOC_GUARD: guard some samples
  uint32_t guard_percent = 2;            // RSEQMALLOC_GUARD_PERCENT: of samples (0..100)
  uint32_t guard_max = 64;               // RSEQMALLOC_GUARD_MAX: live guarded objects (1..4096)
};

// Parses the environment into *config without allocating. Unknown RSEQMALLOC_* names and bad
// values produce one warning line each on stderr and leave the default in place.
void ParseConfig(const char* const* environment, Config* config);

// The process's configuration, valid once the allocator is initialised.
extern Config g_config;

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_CONFIG_H_

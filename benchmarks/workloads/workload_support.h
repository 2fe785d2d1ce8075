// What every workload program shares: its command line, a fast random generator, the stamps
// written into objects to catch an allocator that hands out overlapping or corrupted memory, and
// the one result line the comparison runner parses.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_SUPPORT_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_SUPPORT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace rseqmalloc {
namespace bench {

struct WorkloadOptions {
  int threads = 2;
  // Multiplies the amount of work; 1.0 is sized for about one to two seconds with glibc on a
  // small machine. Work is fixed (not time-boxed) so that wall time compares allocators.
  double scale = 1.0;
  // Idle period for workloads that measure what happens while nothing runs (memory return).
  double idle_seconds = 1.0;
};

// Parses --threads N, --scale X, --idle S (and --help). Exits with status 2 on bad input.
WorkloadOptions ParseWorkloadOptions(int argc, char** argv, const char* name,
                                     const char* description);

// Scales a base amount of work, never below `minimum`.
uint64_t ScaledCount(const WorkloadOptions& options, double base, uint64_t minimum = 1);

// xorshift64*: fast, deterministic per seed, good enough to pick sizes and slots.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {
    if (state_ == 0) state_ = 1;
  }
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  // Uniform in [0, bound).
  uint64_t Below(uint64_t bound) { return bound == 0 ? 0 : Next() % bound; }
  // Uniform in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }

 private:
  uint64_t state_;
};

// Sizes spread evenly over powers of two in [min_size, max_size], so small objects dominate the
// count the way they do in real programs while every size class still gets traffic.
size_t LogUniformSize(Rng& rng, size_t min_size, size_t max_size);

// Writes tag-derived words at the start and end of an object and every kStampStride bytes in
// between: cheap for big objects yet touching every page, and any overlap with another live
// object or any scribble by the allocator over its own free lists shows up when checked.
constexpr size_t kStampStride = 1024;
void StampObject(void* object, size_t size, uint64_t tag);
bool StampIntact(const void* object, size_t size, uint64_t tag);

// Counts failed checks across threads and keeps the first few messages for the report.
class CheckLog {
 public:
  void Fail(const char* workload_step, size_t size);
  uint64_t failures() const { return failures_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> failures_{0};
};

// Checks the stamp, recording a failure; returns whether it was intact.
bool VerifyStamp(CheckLog& log, const void* object, size_t size, uint64_t tag, const char* step);

// malloc that reports a null result as a failed check and exits with status 1 (a workload
// cannot go on without its memory, and a null return is an allocator failure here).
void* AllocateOrFail(CheckLog& log, size_t size);

// Prints "RESULT workload=<name> threads=<n> ops=<ops> check=ok|FAILED failures=<n> <extra>"
// on stdout and returns the process exit status (0 only when every check passed).
int FinishWorkload(const char* name, const WorkloadOptions& options, uint64_t ops,
                   const CheckLog& log, const std::string& extra = std::string());

// Resident set size of this process now, in KiB, from /proc/self/statm.
uint64_t CurrentRssKib();

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_WORKLOAD_SUPPORT_H_

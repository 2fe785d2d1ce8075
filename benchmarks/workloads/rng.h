// Deterministic fast random numbers for the workloads: which slot to replace, which size next.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_RNG_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_RNG_H_

#include <cstddef>
#include <cstdint>

namespace rseqmalloc {
namespace bench {

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

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_RNG_H_

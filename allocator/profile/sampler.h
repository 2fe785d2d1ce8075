// When to sample: after a random number of allocated bytes, drawn from an exponential
// distribution with the configured mean (a Poisson process over bytes). An allocation of s bytes
// is then sampled with probability 1 - exp(-s/mean), whatever its neighbours were, so each
// sample stands for 1/p allocations of its size and the weighted samples are an unbiased
// estimate of the real allocations. An unsampled allocation costs one thread-local subtraction.
#ifndef RSEQMALLOC_ALLOCATOR_PROFILE_SAMPLER_H_
#define RSEQMALLOC_ALLOCATOR_PROFILE_SAMPLER_H_

#include <stddef.h>
#include <stdint.h>

namespace rseqmalloc::profile {

// Sets the mean interval in bytes (1 samples every allocation). Call before any sampling.
void SetMeanSampleInterval(size_t bytes);
size_t MeanSampleInterval();

namespace internal {
struct SamplerState {
  int64_t bytes_left;  // sample when an allocation takes this below zero
  uint64_t random;     // xorshift state; 0 until this thread's first draw
};
extern __thread SamplerState tls_sampler __attribute__((tls_model("initial-exec")));
bool CrossedInterval(size_t bytes);
}  // namespace internal

// Counts `bytes` against this thread's interval; true when this allocation is a sample.
inline bool ShouldSample(size_t bytes) {
  internal::SamplerState& state = internal::tls_sampler;
  state.bytes_left -= static_cast<int64_t>(bytes);
  if (__builtin_expect(state.bytes_left >= 0, 1)) return false;
  return internal::CrossedInterval(bytes);
}

// How many allocations of `bytes` one sample of that size stands for (1/p, at least 1).
double SampleWeight(size_t bytes);

}  // namespace rseqmalloc::profile

#endif  // RSEQMALLOC_ALLOCATOR_PROFILE_SAMPLER_H_

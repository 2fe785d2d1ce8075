#include "allocator/profile/sampler.h"

#include <string.h>
#include <time.h>

namespace rseqmalloc::profile {
namespace {

size_t g_mean_interval = size_t{2} << 20;

uint64_t NextRandom(uint64_t* state) {
  // xorshift64*: fast, no allocation, good enough for choosing sample points.
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

// log and exp without libm, which librseqmalloc.a users would otherwise have to link: sampling
// needs a few significant digits, not the last bit.
// ln(x) for x > 0: x = m * 2^e with m in [1, 2), ln(m) = 2 atanh(z), z = (m - 1) / (m + 1) <= 1/3.
double NaturalLog(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof(bits));
  const int exponent = static_cast<int>((bits >> 52) & 0x7FF) - 1023;
  bits = (bits & ((uint64_t{1} << 52) - 1)) | (uint64_t{1023} << 52);
  double m;
  memcpy(&m, &bits, sizeof(m));
  const double z = (m - 1.0) / (m + 1.0);
  const double z2 = z * z;
  const double series = z * (1 + z2 * (1.0 / 3 + z2 * (1.0 / 5 + z2 * (1.0 / 7 + z2 * (1.0 / 9 + z2 / 11)))));
  return 2.0 * series + exponent * 0.6931471805599453;
}

// 1 - e^(-x) for x >= 0, accurate for small x too (where 1 - exp(-x) would cancel).
double OneMinusExpNegative(double x) {
  if (x > 40) return 1.0;
  // e^(-x) = (e^(-x/2^k))^(2^k) with x/2^k < 1/64, where the Taylor series converges fast;
  // 1 - y^2 = (1 - y)(1 + y) keeps the small difference exact through the squarings.
  int k = 0;
  while (x > 1.0 / 64) {
    x *= 0.5;
    ++k;
  }
  double d = x * (1 - x / 2 * (1 - x / 3 * (1 - x / 4 * (1 - x / 5))));  // 1 - e^(-x)
  for (; k > 0; --k) d = d * (2 - d);
  return d;
}

int64_t DrawInterval(uint64_t* state) {
  if (g_mean_interval <= 1) return 0;
  // u in (0, 1]: 53 random bits, never zero, so the logarithm is finite.
  const double u = (static_cast<double>(NextRandom(state) >> 11) + 1.0) * 0x1.0p-53;
  const double interval = -NaturalLog(u) * static_cast<double>(g_mean_interval);
  return interval > 9.0e18 ? INT64_MAX : static_cast<int64_t>(interval);
}

}  // namespace

namespace internal {

__thread SamplerState tls_sampler __attribute__((tls_model("initial-exec"))) = {0, 0};

bool CrossedInterval(size_t bytes) {
  SamplerState& state = tls_sampler;
  if (state.random == 0) {
    // This thread's first allocation: seed from its address and the clock, then start a first
    // interval instead of sampling (every thread's first allocation would be a sample else).
    timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    state.random = (reinterpret_cast<uintptr_t>(&state) * 0x9E3779B97F4A7C15ULL) ^
                   static_cast<uint64_t>(now.tv_nsec) ^
                   (static_cast<uint64_t>(now.tv_sec) << 32) ^ 1;
    state.bytes_left = DrawInterval(&state.random) - static_cast<int64_t>(bytes);
    if (state.bytes_left >= 0) return false;
  }
  state.bytes_left = DrawInterval(&state.random);
  return true;
}

}  // namespace internal

void SetMeanSampleInterval(size_t bytes) { g_mean_interval = bytes == 0 ? 1 : bytes; }
size_t MeanSampleInterval() { return g_mean_interval; }

double SampleWeight(size_t bytes) {
  if (g_mean_interval <= 1 || bytes == 0) return 1.0;
  const double p =
      OneMinusExpNegative(static_cast<double>(bytes) / static_cast<double>(g_mean_interval));
  return p > 0.0 ? 1.0 / p : 1.0;
}

}  // namespace rseqmalloc::profile

#include "benchmarks/workloads/rng.h"

#include <cmath>

namespace rseqmalloc {
namespace bench {
size_t LogUniformSize(Rng& rng, size_t min_size, size_t max_size) {
  double lo = std::log2(static_cast<double>(min_size));
  double hi = std::log2(static_cast<double>(max_size));
  size_t size = static_cast<size_t>(std::exp2(lo + (hi - lo) * rng.Unit()));
  if (size < min_size) size = min_size;
  if (size > max_size) size = max_size;
  return size;
}

}  // namespace bench
}  // namespace rseqmalloc

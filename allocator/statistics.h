#ifndef RSEQMALLOC_ALLOCATOR_STATISTICS_H_
#define RSEQMALLOC_ALLOCATOR_STATISTICS_H_

#include <cstddef>
#include <cstdint>

namespace rseqmalloc {

// Looks up one named statistic (names in docs/statistics.md). Never allocates; the values are
// gathered without stopping the world, so sums over layers are approximate under load.
bool GetStatistic(const char* name, uint64_t* value);

// Calls visit(name, value, arg) for every statistic, in a fixed order.
void ForEachStatistic(void (*visit)(const char* name, uint64_t value, void* arg), void* arg);

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_STATISTICS_H_

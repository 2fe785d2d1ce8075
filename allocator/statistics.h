#ifndef RSEQMALLOC_ALLOCATOR_STATISTICS_H_
#define RSEQMALLOC_ALLOCATOR_STATISTICS_H_

#include <cstddef>
#include <cstdint>

namespace rseqmalloc {

// Looks up one named statistic (names in docs/statistics.md). Never allocates; the values are
// gathered without stopping the world, so sums over layers are approximate under load.
bool GetStatistic(const char* name, uint64_t* value);

// Calls visit(name, value, arg) for every statistic, in a fixed order: the global ones, then
// "class.<n>.<field>" for classes that own spans and "slot.<n>.<field>" for used slots.
void ForEachStatistic(void (*visit)(const char* name, uint64_t value, void* arg), void* arg);

// Writes every statistic as "name value" lines into buf (NUL-terminated when size > 0) and
// returns the full length, like snprintf. Never allocates.
size_t FormatStatistics(char* buf, size_t size);

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_STATISTICS_H_

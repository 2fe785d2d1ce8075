#include "allocator/statistics.h"

#include <string.h>

#include "allocator/cpu_cache.h"
#include "allocator/metadata_arena.h"
#include "allocator/page_heap.h"
#include "allocator/size_classes.h"
#include "allocator/transfer_cache.h"
#include "percpu/slice_extension.h"

namespace rseqmalloc {
namespace {

uint64_t CpuCacheBytes() {
  uint64_t total = 0;
  for (size_t slot = 0; slot < g_cpu_cache.NumSlots(); ++slot) {
    total += g_cpu_cache.SlotBytes(static_cast<int>(slot));
  }
  return total;
}

uint64_t TransferCacheBytes() {
  uint64_t total = 0;
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    total += g_transfer_caches[cl].cached_objects() * SizeMap::ClassSize(cl);
  }
  return total;
}

uint64_t CentralFreeBytes() {
  uint64_t total = 0;
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    total += g_transfer_caches[cl].central().free_objects() * SizeMap::ClassSize(cl);
  }
  return total;
}

struct Entry {
  const char* name;
  uint64_t (*read)();
};

const Entry kEntries[] = {
    {"page_heap.system_bytes", [] { return uint64_t{g_page_heap.GetStats().system_bytes}; }},
    {"page_heap.in_use_bytes", [] { return uint64_t{g_page_heap.GetStats().in_use_bytes}; }},
    {"page_heap.free_bytes", [] { return uint64_t{g_page_heap.GetStats().free_bytes}; }},
    {"page_heap.returned_bytes", [] { return uint64_t{g_page_heap.GetStats().returned_bytes}; }},
    {"metadata_bytes", [] { return uint64_t{GetMetadataStats().mapped_bytes}; }},
    {"cpu_cache.bytes", CpuCacheBytes},
    {"cpu_cache.slots", [] { return uint64_t{g_cpu_cache.NumSlots()}; }},
    {"transfer_cache.bytes", TransferCacheBytes},
    {"central_free_list.bytes", CentralFreeBytes},
    {"slice_ext.requests", [] { return percpu::GetSliceExtensionCounters().requests; }},
    {"slice_ext.grants", [] { return percpu::GetSliceExtensionCounters().grants; }},
    {"slice_ext.yields", [] { return percpu::GetSliceExtensionCounters().yields; }},
    {"slice_ext.yields_returned_one",
     [] { return percpu::GetSliceExtensionCounters().yields_returned_one; }},
};

}  // namespace

bool GetStatistic(const char* name, uint64_t* value) {
  if (name == nullptr || value == nullptr) return false;
  for (const Entry& entry : kEntries) {
    if (strcmp(entry.name, name) == 0) {
      *value = entry.read();
      return true;
    }
  }
  return false;
}

void ForEachStatistic(void (*visit)(const char*, uint64_t, void*), void* arg) {
  for (const Entry& entry : kEntries) visit(entry.name, entry.read(), arg);
}

}  // namespace rseqmalloc

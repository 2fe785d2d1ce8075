#include "allocator/statistics.h"

#include <stdlib.h>
#include <string.h>

#include "allocator/cpu_cache.h"
#include "allocator/diagnostics.h"
#include "allocator/hugepage_system.h"
#include "allocator/memory_release.h"
#include "allocator/metadata_arena.h"
#include "allocator/page_heap.h"
#include "allocator/profile/profiler.h"
#include "allocator/size_classes.h"
#include "allocator/transfer_cache.h"
#include "percpu/slice_extension.h"

namespace rseqmalloc {
namespace {

uint64_t CpuCacheObjects(uint32_t cl) {
  uint64_t total = 0;
  for (size_t slot = 0; slot < g_cpu_cache.NumSlots(); ++slot) {
    total += g_cpu_cache.ClassObjects(static_cast<int>(slot), cl);  // 0 for unused slots
  }
  return total;
}

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

// Bytes the application holds: spans in use, less what the caches keep free inside them.
uint64_t ApplicationBytes() {
  const uint64_t in_use = g_page_heap.GetStats().in_use_bytes;
  const uint64_t cached = CpuCacheBytes() + TransferCacheBytes() + CentralFreeBytes();
  return in_use > cached ? in_use - cached : 0;
}

struct Entry {
  const char* name;
  uint64_t (*read)();
};

const Entry kEntries[] = {
    {"application_bytes", ApplicationBytes},
    {"cpu_cache.bytes", CpuCacheBytes},
    {"transfer_cache.bytes", TransferCacheBytes},
    {"central_free_list.bytes", CentralFreeBytes},
    {"page_heap.in_use_bytes", [] { return uint64_t{g_page_heap.GetStats().in_use_bytes}; }},
    {"page_heap.free_bytes", [] { return uint64_t{g_page_heap.GetStats().free_bytes}; }},
    {"page_heap.returned_bytes", [] { return uint64_t{g_page_heap.GetStats().returned_bytes}; }},
    {"page_heap.system_bytes", [] { return uint64_t{g_page_heap.GetStats().system_bytes}; }},
    {"page_heap.grows", [] { return uint64_t{g_page_heap.GetStats().grows}; }},
    {"page_heap.prompt_releases", [] { return uint64_t{g_page_heap.GetStats().prompt_releases}; }},
    // Hugepage coverage as the heap sees it (docs/page_heap.md): compare with AnonHugePages.
    {"hugepage.thp_mode", [] { return uint64_t{static_cast<uint8_t>(GetThpMode())}; }},
    {"hugepage.backed_bytes",
     [] { return uint64_t{g_page_heap.GetStats().hugepage_backed_bytes}; }},
    {"hugepage.advised_bytes",
     [] { return uint64_t{g_page_heap.GetStats().hugepage_advised_bytes}; }},
    {"hugepage.collapses", [] { return uint64_t{g_page_heap.GetStats().hugepage_collapses}; }},
    {"metadata_bytes", [] { return uint64_t{GetMetadataStats().mapped_bytes}; }},
    {"cpu_cache.slots", [] { return uint64_t{g_cpu_cache.NumSlots()}; }},
    {"cpu_cache.budget_bytes", [] { return uint64_t{g_cpu_cache.budget()}; }},
    {"cpu_cache.underflows", [] { return g_cpu_cache.underflows(); }},
    {"cpu_cache.overflows", [] { return g_cpu_cache.overflows(); }},
    {"release.ticks", [] { return GetReleaseTotals().ticks; }},
    {"release.slots_drained", [] { return GetReleaseTotals().slots_drained; }},
    {"release.transfer_objects_flushed",
     [] { return GetReleaseTotals().transfer_objects_flushed; }},
    {"release.released_bytes", [] { return GetReleaseTotals().released_bytes; }},
    {"profile.samples", [] { return profile::Samples().samples(); }},
    {"profile.sampled_bytes", [] { return profile::Samples().sampled_bytes(); }},
    {"profile.live_samples", [] { return profile::Samples().live_samples(); }},
    {"profile.dropped_samples", [] { return profile::Samples().dropped(); }},
    {"guard.live", [] { return profile::GuardedLive(); }},
    {"guard.allocations", [] { return profile::GuardedAllocations(); }},
    {"slice_ext.requests", [] { return percpu::GetSliceExtensionCounters().requests; }},
    {"slice_ext.grants", [] { return percpu::GetSliceExtensionCounters().grants; }},
    {"slice_ext.yields", [] { return percpu::GetSliceExtensionCounters().yields; }},
    {"slice_ext.yields_returned_one",
     [] { return percpu::GetSliceExtensionCounters().yields_returned_one; }},
};

// "class.<n>.<field>": per size class.
bool ClassStatistic(uint32_t cl, const char* field, uint64_t* value) {
  if (cl == 0 || cl >= kNumClasses) return false;
  const TransferCache& cache = g_transfer_caches[cl];
  if (!strcmp(field, "size")) *value = SizeMap::ClassSize(cl);
  else if (!strcmp(field, "cpu_cache_objects")) *value = CpuCacheObjects(cl);
  else if (!strcmp(field, "transfer_cache_objects")) *value = cache.cached_objects();
  else if (!strcmp(field, "central_free_objects")) {
    *value = g_transfer_caches[cl].central().free_objects();
  } else if (!strcmp(field, "spans")) {
    *value = g_transfer_caches[cl].central().spans();
  } else {
    return false;
  }
  return true;
}

// "slot.<n>.<field>": per per-CPU slot.
bool SlotStatistic(size_t slot, const char* field, uint64_t* value) {
  if (slot >= g_cpu_cache.NumSlots()) return false;
  const int s = static_cast<int>(slot);
  if (!strcmp(field, "bytes")) *value = g_cpu_cache.SlotBytes(s);
  else if (!strcmp(field, "capacity_bytes")) *value = g_cpu_cache.SlotCapacityBytes(s);
  else if (!strcmp(field, "misses")) *value = g_cpu_cache.SlotMisses(s);
  else return false;
  return true;
}

// Parses "<prefix><number>.<field>"; returns the field or nullptr.
const char* IndexedName(const char* name, const char* prefix, size_t* index) {
  const size_t len = strlen(prefix);
  if (strncmp(name, prefix, len) != 0) return nullptr;
  const char* p = name + len;
  if (*p < '0' || *p > '9') return nullptr;
  size_t n = 0;
  for (; *p >= '0' && *p <= '9'; ++p) {
    n = n * 10 + static_cast<size_t>(*p - '0');
    if (n > 1000000) return nullptr;
  }
  if (*p != '.') return nullptr;
  *index = n;
  return p + 1;
}

const char* const kClassFields[] = {"size", "cpu_cache_objects", "transfer_cache_objects",
                                    "central_free_objects", "spans"};
const char* const kSlotFields[] = {"bytes", "capacity_bytes", "misses"};

}  // namespace

bool GetStatistic(const char* name, uint64_t* value) {
  if (name == nullptr || value == nullptr) return false;
  for (const Entry& entry : kEntries) {
    if (strcmp(entry.name, name) == 0) {
      *value = entry.read();
      return true;
    }
  }
  size_t index;
  if (const char* field = IndexedName(name, "class.", &index)) {
    return ClassStatistic(static_cast<uint32_t>(index), field, value);
  }
  if (const char* field = IndexedName(name, "slot.", &index)) {
    return SlotStatistic(index, field, value);
  }
  return false;
}

void ForEachStatistic(void (*visit)(const char*, uint64_t, void*), void* arg) {
  char name[64];
  for (const Entry& entry : kEntries) visit(entry.name, entry.read(), arg);
  // Classes that hold anything, and slots that were used: the rest would be noise.
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    uint64_t spans = 0;
    ClassStatistic(cl, "spans", &spans);
    if (spans == 0) continue;
    for (const char* field : kClassFields) {
      uint64_t value = 0;
      ClassStatistic(cl, field, &value);
      FormatTo(name, sizeof(name), "class.%u.%s", cl, field);
      visit(name, value, arg);
    }
  }
  for (size_t slot = 0; slot < g_cpu_cache.NumSlots(); ++slot) {
    if (!g_cpu_cache.SlotInitialized(static_cast<int>(slot))) continue;
    for (const char* field : kSlotFields) {
      uint64_t value = 0;
      SlotStatistic(slot, field, &value);
      FormatTo(name, sizeof(name), "slot.%zu.%s", slot, field);
      visit(name, value, arg);
    }
  }
}

size_t FormatStatistics(char* buf, size_t size) {
  struct Writer {
    char* buf;
    size_t size;
    size_t len;
  } writer{buf, size, 0};
  if (size > 0) buf[0] = '\0';
  ForEachStatistic(
      [](const char* name, uint64_t value, void* arg) {
        auto* w = static_cast<Writer*>(arg);
        const size_t room = w->len < w->size ? w->size - w->len : 0;
        w->len += FormatTo(room ? w->buf + w->len : nullptr, room, "%s %lu\n", name,
                           static_cast<unsigned long>(value));
      },
      &writer);
  return writer.len;
}

}  // namespace rseqmalloc

#include "percpu/per_cpu_slab.h"

#include <sched.h>
#include <sys/mman.h>

#include <atomic>

#include "percpu/fence.h"

namespace rseqmalloc {
namespace percpu {
namespace {

std::atomic<uint32_t>* StateWord(char* region) {
  return reinterpret_cast<std::atomic<uint32_t>*>(region + arch::kSlotStateOffset);
}

uint16_t RacyLoad(const uint16_t* p) { return *reinterpret_cast<const volatile uint16_t*>(p); }

constexpr size_t kPageSize = 4096;

}  // namespace

bool PerCpuSlab::Init(size_t num_classes, const uint16_t* max_capacity) {
  if (geometry_.base != nullptr) return true;
  if (num_classes == 0) return false;
  // Words: state (1) + one header per class, then the stacks back to back.
  size_t words = arch::kClassHeadersOffset / 8 + num_classes;
  for (size_t cl = 0; cl < num_classes; ++cl) words += max_capacity[cl];
  if (words > arch::kMaxRegionWords) return false;
  size_t region_size = (words * 8 + kPageSize - 1) & ~(kPageSize - 1);

  size_t slots = CurrentRseqStatus().slots;
  if (slots == 0) slots = 1;  // not initialised: keep a usable (if idle) object
  size_t header_bytes = (num_classes * sizeof(arch::ClassHeader) + kPageSize - 1) &
                        ~(kPageSize - 1);
  void* headers = mmap(nullptr, header_bytes, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (headers == MAP_FAILED) return false;
  void* base = mmap(nullptr, slots * region_size, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    munmap(headers, header_bytes);
    return false;
  }
  auto* fresh = static_cast<arch::ClassHeader*>(headers);
  uint16_t next = static_cast<uint16_t>(arch::kClassHeadersOffset / 8 + num_classes);
  for (size_t cl = 0; cl < num_classes; ++cl) {
    fresh[cl].begin = next;
    fresh[cl].current = next;
    fresh[cl].end = next;  // capacity starts at 0; Grow raises it
    next = static_cast<uint16_t>(next + max_capacity[cl]);
    fresh[cl].max_end = next;
  }
  fresh_headers_ = fresh;
  num_classes_ = num_classes;
  num_slots_ = slots;
  geometry_.base = static_cast<char*>(base);
  geometry_.region_size = region_size;
  // Publish last: a non-zero limit is what lets critical sections into the regions.
  uint64_t limit = internal::g_rseq_usable ? slots : 0;
  __atomic_store_n(&geometry_.slot_limit, limit, __ATOMIC_RELEASE);
  return true;
}

void PerCpuSlab::EnsureSlotInitialized(int slot) {
  std::atomic<uint32_t>* state = StateWord(Region(slot));
  uint32_t s = state->load(std::memory_order_acquire);
  if (s & arch::kSlotReady) return;
  uint32_t expected = arch::kSlotUninitialized;
  // "Stopped but not ready" while we write: critical sections refuse it.
  if (state->compare_exchange_strong(expected, arch::kSlotStoppedBit,
                                     std::memory_order_acquire)) {
    for (size_t cl = 0; cl < num_classes_; ++cl) *Header(slot, cl) = fresh_headers_[cl];
    state->store(arch::kSlotReady, std::memory_order_release);
    return;
  }
  while ((state->load(std::memory_order_acquire) & arch::kSlotReady) == 0) sched_yield();
}

int PerCpuSlab::CurrentSlot() {
  if (geometry_.slot_limit == 0 || !RseqThreadReady()) return -1;
  char* rseq = ThreadRseqArea();
  if (*reinterpret_cast<volatile int32_t*>(rseq + arch::kRseqCpuIdOffset) < 0) return -1;
  uint32_t slot = *reinterpret_cast<volatile uint32_t*>(rseq + internal::g_slot_key_offset);
  if (slot >= geometry_.slot_limit) return -1;
  EnsureSlotInitialized(static_cast<int>(slot));
  return static_cast<int>(slot);
}

size_t PerCpuSlab::Grow(size_t cl, size_t want) {
  if (cl >= num_classes_ || want == 0 || CurrentSlot() < 0) return 0;
  char* rseq = ThreadRseqArea();
  return arch::RseqGrow(rseq, rseq + internal::g_slot_key_offset, &geometry_,
                        arch::ClassHeaderOffset(cl), want);
}

bool PerCpuSlab::StopSlot(int slot) {
  std::atomic<uint32_t>* state = StateWord(Region(slot));
  for (;;) {
    uint32_t s = state->load(std::memory_order_acquire);
    if (s == arch::kSlotUninitialized) return false;
    if (s == arch::kSlotReady &&
        state->compare_exchange_weak(s, arch::kSlotReady | arch::kSlotStoppedBit,
                                     std::memory_order_seq_cst)) {
      break;
    }
    if (s != arch::kSlotReady) sched_yield();  // being initialised or worked on by another thread
  }
  // From here on no critical section can commit on this slot: running ones are aborted by the
  // fence, later ones see the stopped state. A fence that could not be completed guarantees
  // neither, so the stop is undone and the caller leaves the slot alone.
  if (!FenceSlot(slot)) {
    ResumeSlot(slot);
    return false;
  }
  return true;
}

void PerCpuSlab::ResumeSlot(int slot) {
  StateWord(Region(slot))->store(arch::kSlotReady, std::memory_order_release);
}

size_t PerCpuSlab::Shrink(int slot, size_t cl, size_t want, DrainHandler drain, void* arg) {
  if (!ValidSlot(slot) || cl >= num_classes_ || want == 0) return 0;
  if (!StopSlot(slot)) return 0;
  arch::ClassHeader* h = Header(slot, cl);
  size_t capacity = static_cast<size_t>(h->end - h->begin);
  size_t removed = want < capacity ? want : capacity;
  uint16_t new_end = static_cast<uint16_t>(h->end - removed);
  if (h->current > new_end) {
    void** items = reinterpret_cast<void**>(Region(slot)) + new_end;
    drain(arg, cl, items, static_cast<size_t>(h->current - new_end));
    h->current = new_end;
  }
  h->end = new_end;
  ResumeSlot(slot);
  return removed;
}

void PerCpuSlab::Drain(int slot, DrainHandler drain, void* arg) {
  if (!ValidSlot(slot) || !StopSlot(slot)) return;
  for (size_t cl = 0; cl < num_classes_; ++cl) {
    arch::ClassHeader* h = Header(slot, cl);
    if (h->current > h->begin) {
      void** items = reinterpret_cast<void**>(Region(slot)) + h->begin;
      drain(arg, cl, items, static_cast<size_t>(h->current - h->begin));
    }
    h->current = h->begin;
    h->end = h->begin;
  }
  ResumeSlot(slot);
}

bool PerCpuSlab::SlotInitialized(int slot) const {
  if (!ValidSlot(slot)) return false;
  return (StateWord(Region(slot))->load(std::memory_order_acquire) & arch::kSlotReady) != 0;
}

size_t PerCpuSlab::Length(int slot, size_t cl) const {
  if (cl >= num_classes_ || !SlotInitialized(slot)) return 0;
  const arch::ClassHeader* h = Header(slot, cl);
  uint16_t current = RacyLoad(&h->current), begin = RacyLoad(&h->begin);
  return current > begin ? current - begin : 0;
}

size_t PerCpuSlab::Capacity(int slot, size_t cl) const {
  if (cl >= num_classes_ || !SlotInitialized(slot)) return 0;
  const arch::ClassHeader* h = Header(slot, cl);
  uint16_t end = RacyLoad(&h->end), begin = RacyLoad(&h->begin);
  return end > begin ? end - begin : 0;
}

}  // namespace percpu
}  // namespace rseqmalloc

#include "percpu/per_cpu_slab.h"

#include <sched.h>
#include <sys/mman.h>

#include <atomic>

#include "percpu/fence.h"
#include "percpu/slab_color.h"

namespace rseqmalloc {
namespace percpu {
namespace internal {
void (*g_slot_setup_hook)(int slot) = nullptr;
}  // namespace internal

namespace {

std::atomic<uint32_t>* StateWord(char* region) {
  return reinterpret_cast<std::atomic<uint32_t>*>(region + arch::kSlotStateOffset);
}

// Header fields are written by slow paths while fast paths on other threads may read them:
// every access is a single-copy-atomic load or store of the field's own width.
template <typename T>
T LoadField(const T* p) {
  return __atomic_load_n(p, __ATOMIC_RELAXED);
}
template <typename T>
void StoreField(T* p, T v, int order = __ATOMIC_RELAXED) {
  __atomic_store_n(p, v, order);
}

constexpr size_t kPageSize = 4096;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

}  // namespace

bool PerCpuSlab::Init(size_t num_classes, const uint16_t* max_capacity) {
  if (base_ != nullptr) return true;
  if (num_classes == 0) return false;
  // Words: state (1) + one header per class, then the stacks back to back.
  size_t words = arch::kClassHeadersOffset / 8 + num_classes;
  for (size_t cl = 0; cl < num_classes; ++cl) words += max_capacity[cl];
  if (words > arch::kMaxRegionWords) return false;
  const size_t saved_ends_offset = words * 8;
  if (saved_ends_offset + num_classes * sizeof(uint16_t) > arch::kRegionBytes) return false;

  size_t slots = CurrentRseqStatus().slots;
  if (slots == 0) slots = 1;  // not initialised: keep a usable (if idle) object
  const size_t table_bytes = RoundUp(2 * num_classes * sizeof(uint16_t), kPageSize);
  void* tables = mmap(nullptr, table_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (tables == MAP_FAILED) return false;
  // The regions start `color` bytes in (slab_color.h), so the reservation has a page more.
  const size_t color =
      RegionColor(reinterpret_cast<uintptr_t>(ThreadRseqArea()), num_classes);
  void* reservation = mmap(nullptr, slots * arch::kRegionBytes + kColorPage,
                           PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                           -1, 0);
  if (reservation == MAP_FAILED) {
    munmap(tables, table_bytes);
    return false;
  }
  auto* begins = static_cast<uint16_t*>(tables);
  uint16_t* max_ends = begins + num_classes;
  uint16_t next = static_cast<uint16_t>(arch::kClassHeadersOffset / 8 + num_classes);
  for (size_t cl = 0; cl < num_classes; ++cl) {
    begins[cl] = next;
    next = static_cast<uint16_t>(next + max_capacity[cl]);
    max_ends[cl] = next;
  }
  begins_ = begins;
  max_ends_ = max_ends;
  saved_ends_offset_ = saved_ends_offset;
  num_classes_ = num_classes;
  num_slots_ = slots;
  base_ = static_cast<char*>(reservation) + color;
  fast_.base = base_;
  fast_.key_offset = internal::g_rseq_area_offset + internal::g_slot_key_offset;
  // Publish last (release; fast paths read it with acquire): a non-zero offset is what lets
  // critical sections into the regions, and whoever sees it sees the base and key offset.
  const intptr_t offset = internal::g_rseq_usable ? internal::g_rseq_area_offset : 0;
  __atomic_store_n(&fast_.rseq_offset, offset, __ATOMIC_RELEASE);
  return true;
}

// Fresh headers have no capacity (begin = current = end), so every fast path keeps failing on
// them until Grow. begin and current go first and end last with release: a push that reads the
// new end (acquire) then reads the matching current; a pop never sees current above begin.
void PerCpuSlab::WriteFreshHeaders(int slot) {
  for (size_t cl = 0; cl < num_classes_; ++cl) {
    arch::ClassHeader* h = Header(slot, cl);
    StoreField(&h->begin, begins_[cl]);
    StoreField(&h->current, static_cast<uint32_t>(begins_[cl]));
    StoreField(&h->end, begins_[cl], __ATOMIC_RELEASE);
  }
}

void PerCpuSlab::EnsureSlotInitialized(int slot) {
  std::atomic<uint32_t>* state = StateWord(Region(slot));
  for (;;) {
    uint32_t s = state->load(std::memory_order_acquire);
    if (s == arch::kSlotOpen || s == arch::kSlotStopped) return;  // initialised
    if (s == arch::kSlotUninitialized &&
        state->compare_exchange_strong(s, arch::kSlotInitializing, std::memory_order_acquire)) {
      break;
    }
    sched_yield();  // another thread is initialising it
  }
  initializing_.fetch_add(1, std::memory_order_relaxed);
  if (internal::g_slot_setup_hook != nullptr) internal::g_slot_setup_hook(slot);
  WriteFreshHeaders(slot);
  state->store(arch::kSlotOpen, std::memory_order_release);
  initializing_.fetch_sub(1, std::memory_order_relaxed);
}

void PerCpuSlab::AfterForkInChild() {
  // Only the forking thread exists now: nobody else can be initialising, stopping or pushing.
  // The count says whether any slot was mid-setup at fork time, so the usual fork touches no
  // region; otherwise reading an untouched region's state maps only the shared zero page.
  if (initializing_.load(std::memory_order_relaxed) == 0) return;
  initializing_.store(0, std::memory_order_relaxed);
  for (size_t slot = 0; slot < num_slots_; ++slot) {
    std::atomic<uint32_t>* state = StateWord(Region(static_cast<int>(slot)));
    if (state->load(std::memory_order_relaxed) != arch::kSlotInitializing) continue;
    WriteFreshHeaders(static_cast<int>(slot));
    state->store(arch::kSlotOpen, std::memory_order_release);
  }
}

int PerCpuSlab::CurrentSlot() {
  if (!Active() || !RseqThreadReady()) return -1;
  char* rseq = ThreadRseqArea();
  if (*reinterpret_cast<volatile int32_t*>(rseq + arch::kRseqCpuIdOffset) < 0) return -1;
  uint32_t slot = *reinterpret_cast<volatile uint32_t*>(rseq + internal::g_slot_key_offset);
  if (slot >= num_slots_) return -1;  // the kernel never hands out such a key; be safe anyway
  EnsureSlotInitialized(static_cast<int>(slot));
  return static_cast<int>(slot);
}

size_t PerCpuSlab::Grow(size_t cl, size_t want) {
  if (cl >= num_classes_ || want == 0 || CurrentSlot() < 0) return 0;
  return arch::RseqGrow(&fast_, cl, max_ends_[cl], want);
}

// Stop: mark the slot stopped (which makes Grow fail), store bounds that fail every push and
// pop, fence, and repeat the last two while a Grow that started before the mark raised an end
// again. After that no critical section can commit on the slot until ResumeSlot.
bool PerCpuSlab::StopSlot(int slot) {
  std::atomic<uint32_t>* state = StateWord(Region(slot));
  for (;;) {
    uint32_t s = state->load(std::memory_order_acquire);
    if (s == arch::kSlotUninitialized) return false;
    if (s == arch::kSlotOpen &&
        state->compare_exchange_weak(s, arch::kSlotStopped, std::memory_order_seq_cst)) {
      break;
    }
    if (s != arch::kSlotOpen) sched_yield();  // being initialised or worked on by another thread
  }
  uint16_t* saved = SavedEnds(slot);
  for (size_t cl = 0; cl < num_classes_; ++cl) {
    arch::ClassHeader* h = Header(slot, cl);
    saved[cl] = LoadField(&h->end);
    // Release: ordered after the mark, so a Grow that reads this end reads the mark too.
    StoreField(&h->end, uint16_t{0}, __ATOMIC_RELEASE);
    StoreField(&h->begin, arch::kStoppedBegin);
  }
  for (;;) {
    // Running critical sections on the slot are aborted (or had finished); later ones see the
    // failing bounds and the stopped state. A fence that could not be completed guarantees
    // neither, so the stop is undone (the saved ends are the bounds) and the caller leaves the
    // slot alone.
    if (!FenceSlot(slot)) {
      ResumeSlot(slot);
      return false;
    }
    bool raised = false;
    for (size_t cl = 0; cl < num_classes_; ++cl) {
      arch::ClassHeader* h = Header(slot, cl);
      const uint16_t end = LoadField(&h->end);
      if (end == 0) continue;
      // A Grow that read the open state before the mark committed after our store. It read
      // the end from before our store (it loads end before the state), so its bound is the
      // saved one raised: keep it (items pushed under it before the fence are real) and stop
      // the class again.
      if (end > saved[cl]) saved[cl] = end;
      StoreField(&h->end, uint16_t{0});
      raised = true;
    }
    if (!raised) return true;
  }
}

// Restores the bounds (begin, then the possibly lowered end, with release so that the owner's
// acquire of a bound sees the work done on current and the items) and reopens the slot.
void PerCpuSlab::ResumeSlot(int slot) {
  const uint16_t* saved = SavedEnds(slot);
  for (size_t cl = 0; cl < num_classes_; ++cl) {
    arch::ClassHeader* h = Header(slot, cl);
    StoreField(&h->begin, begins_[cl], __ATOMIC_RELEASE);
    StoreField(&h->end, saved[cl], __ATOMIC_RELEASE);
  }
  StateWord(Region(slot))->store(arch::kSlotOpen, std::memory_order_release);
}

size_t PerCpuSlab::Shrink(int slot, size_t cl, size_t want, DrainHandler drain, void* arg) {
  if (!ValidSlot(slot) || cl >= num_classes_ || want == 0) return 0;
  if (!StopSlot(slot)) return 0;
  uint16_t* saved = SavedEnds(slot);
  arch::ClassHeader* h = Header(slot, cl);
  const size_t capacity = saved[cl] > begins_[cl] ? saved[cl] - begins_[cl] : 0;
  const size_t removed = want < capacity ? want : capacity;
  const uint16_t new_end = static_cast<uint16_t>(saved[cl] - removed);
  const uint32_t current = LoadField(&h->current);
  if (current > new_end) {
    void** items = reinterpret_cast<void**>(Region(slot)) + new_end;
    drain(arg, cl, items, current - new_end);
    StoreField(&h->current, static_cast<uint32_t>(new_end));
  }
  saved[cl] = new_end;
  ResumeSlot(slot);
  return removed;
}

void PerCpuSlab::Drain(int slot, DrainHandler drain, void* arg) {
  if (!ValidSlot(slot) || !StopSlot(slot)) return;
  uint16_t* saved = SavedEnds(slot);
  for (size_t cl = 0; cl < num_classes_; ++cl) {
    arch::ClassHeader* h = Header(slot, cl);
    const uint32_t current = LoadField(&h->current);
    if (current > begins_[cl]) {
      void** items = reinterpret_cast<void**>(Region(slot)) + begins_[cl];
      drain(arg, cl, items, current - begins_[cl]);
    }
    StoreField(&h->current, static_cast<uint32_t>(begins_[cl]));
    saved[cl] = begins_[cl];
  }
  ResumeSlot(slot);
}

void PerCpuSlab::SetEndForTesting(int slot, size_t cl, uint16_t end) {
  if (!ValidSlot(slot) || cl >= num_classes_) return;
  StoreField(&Header(slot, cl)->end, end, __ATOMIC_RELEASE);
}

bool PerCpuSlab::SlotInitialized(int slot) const {
  if (!ValidSlot(slot)) return false;
  const uint32_t s = StateWord(Region(slot))->load(std::memory_order_acquire);
  return s == arch::kSlotOpen || s == arch::kSlotStopped;
}

size_t PerCpuSlab::Length(int slot, size_t cl) const {
  if (cl >= num_classes_ || !SlotInitialized(slot)) return 0;
  const uint32_t current = LoadField(&Header(slot, cl)->current);
  return current > begins_[cl] ? current - begins_[cl] : 0;
}

size_t PerCpuSlab::Capacity(int slot, size_t cl) const {
  if (cl >= num_classes_ || !SlotInitialized(slot)) return 0;
  uint16_t end = LoadField(&Header(slot, cl)->end);
  // A stopped slot shows end 0; its real bound is the saved one.
  if (StateWord(Region(slot))->load(std::memory_order_acquire) == arch::kSlotStopped) {
    end = LoadField(&SavedEnds(slot)[cl]);
  }
  return end > begins_[cl] ? end - begins_[cl] : 0;
}

}  // namespace percpu
}  // namespace rseqmalloc

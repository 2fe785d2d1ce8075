#include "allocator/profile/guarded_pool.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "allocator/common.h"
#include "allocator/diagnostics.h"
#include "allocator/profile/stack_trace.h"
#include "allocator/spin_lock.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc::profile {
namespace {

enum class SlotState : uint8_t { kUnused, kLive, kFreed };

struct Slot {
  SlotState state;
  uintptr_t object;
  size_t size;
  int alloc_depth;
  int free_depth;
  void* alloc_pcs[kMaxStackDepth];
  void* free_pcs[kMaxStackDepth];
};

// Layout: a guard page, then for each slot its object page and a guard page. Every page starts
// inaccessible; a slot's object page is readable and writable only while its object is live.
RSEQMALLOC_CONSTINIT SpinLock g_lock;
uintptr_t g_base = 0;
uintptr_t g_end = 0;
size_t g_page = 0;
size_t g_num_slots = 0;
size_t g_max_live = 0;
size_t g_next = 0;  // where the search for a slot to reuse starts: the oldest freed one
Slot* g_slots = nullptr;
uint64_t g_live = 0;
uint64_t g_allocations = 0;
struct sigaction g_previous_segv;

uintptr_t ObjectPage(size_t slot) { return g_base + (2 * slot + 1) * g_page; }

// The report goes out as one write, so that it stays one block among other threads' output.
class Report {
 public:
  void Line(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void Stack(const char* title, void* const* pcs, int depth) {
    Line("%s", title);
    if (depth == 0) Line("    (no frames: the caller was built without frame pointers)");
    for (int i = 0; i < depth; ++i) {
      Dl_info info;
      const uintptr_t pc = reinterpret_cast<uintptr_t>(pcs[i]);
      if (dladdr(pcs[i], &info) != 0 && info.dli_fname != nullptr) {
        const uintptr_t base = reinterpret_cast<uintptr_t>(info.dli_fbase);
        if (info.dli_sname != nullptr) {
          Line("    #%d %p %s+0x%lx (%s+0x%lx)", i, pcs[i], info.dli_sname,
               static_cast<unsigned long>(pc - reinterpret_cast<uintptr_t>(info.dli_saddr)),
               info.dli_fname, static_cast<unsigned long>(pc - base));
        } else {
          Line("    #%d %p (%s+0x%lx)", i, pcs[i], info.dli_fname,
               static_cast<unsigned long>(pc - base));
        }
      } else {
        Line("    #%d %p", i, pcs[i]);
      }
    }
  }
  void Send() { (void)!write(STDERR_FILENO, text_, length_); }

 private:
  char text_[16384];
  size_t length_ = 0;
};

void Report::Line(const char* format, ...) {
  char line[512];
  va_list args;
  va_start(args, format);
  char body[480];
  VFormatTo(body, sizeof(body), format, args);
  va_end(args);
  const size_t n = FormatTo(line, sizeof(line), "rseqmalloc: %s\n", body);
  const size_t take = n < sizeof(line) - 1 ? n : sizeof(line) - 1;
  if (length_ + take <= sizeof(text_)) {
    memcpy(text_ + length_, line, take);
    length_ += take;
  }
}

void ReportObject(Report& report, const Slot& slot, bool with_free_stack) {
  report.Line("object: %zu bytes at %p", slot.size, reinterpret_cast<void*>(slot.object));
  report.Stack("allocated by:", slot.alloc_pcs, slot.alloc_depth);
  if (with_free_stack) report.Stack("freed by:", slot.free_pcs, slot.free_depth);
}

// Which slot's object a faulting address belongs to, and how. False if outside the pool.
bool Classify(uintptr_t address, Report& report) {
  if (address < g_base || address >= g_end) return false;
  const size_t page = (address - g_base) / g_page;
  if (page % 2 == 1) {
    const Slot& slot = g_slots[page / 2];
    if (slot.state == SlotState::kFreed) {
      report.Line("==== heap error: use after free ====");
      report.Line("access at %p, %ld bytes from the start of a freed object",
                  reinterpret_cast<void*>(address),
                  static_cast<long>(address - slot.object));
      ReportObject(report, slot, true);
    } else {
      report.Line("==== heap error: access to unallocated guarded memory ====");
      report.Line("access at %p", reinterpret_cast<void*>(address));
    }
    return true;
  }
  // A guard page: the object just below it overflowed (objects end where the guard begins).
  if (page == 0) {
    report.Line("==== heap error: access before the first guarded object at %p ====",
                reinterpret_cast<void*>(address));
    return true;
  }
  const Slot& slot = g_slots[page / 2 - 1];
  const uintptr_t end = slot.object + slot.size;
  report.Line("==== heap error: buffer overflow ====");
  report.Line("access at %p, %lu bytes past the end of the %sobject",
              reinterpret_cast<void*>(address), static_cast<unsigned long>(address - end),
              slot.state == SlotState::kFreed ? "freed " : "");
  ReportObject(report, slot, slot.state == SlotState::kFreed);
  return true;
}

void OnSegv(int signo, siginfo_t* info, void* context) {
  Report report;
  if (Classify(reinterpret_cast<uintptr_t>(info->si_addr), report)) {
    report.Line("==== end of report: SIGSEGV follows ====");
    report.Send();
    // Hand the fault back: with the previous disposition restored, returning re-runs the
    // faulting instruction, which now gets the original signal (by default, death by SIGSEGV).
    sigaction(SIGSEGV, &g_previous_segv, nullptr);
    return;
  }
  // Not ours: behave as if we had never been installed.
  if (g_previous_segv.sa_flags & SA_SIGINFO) {
    g_previous_segv.sa_sigaction(signo, info, context);
  } else if (g_previous_segv.sa_handler != SIG_DFL && g_previous_segv.sa_handler != SIG_IGN) {
    g_previous_segv.sa_handler(signo);
  } else {
    sigaction(SIGSEGV, &g_previous_segv, nullptr);
  }
}

size_t SlotOf(const void* ptr) {
  return (reinterpret_cast<uintptr_t>(ptr) - g_base) / g_page / 2;
}

}  // namespace

bool InitGuardedPool(size_t max_live) {
  g_page = SystemPageSize();
  g_max_live = max_live;
  g_num_slots = 2 * max_live;
  const size_t bytes = (2 * g_num_slots + 1) * g_page;
  void* pool = mmap(nullptr, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (pool == MAP_FAILED) return false;
  g_slots = static_cast<Slot*>(SystemAlloc(sizeof(Slot) * g_num_slots, 64));
  if (g_slots == nullptr) return false;
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_sigaction = OnSegv;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSEGV, &action, &g_previous_segv) != 0) return false;
  g_base = reinterpret_cast<uintptr_t>(pool);
  __atomic_store_n(&g_end, g_base + bytes, __ATOMIC_RELEASE);
  return true;
}

size_t MaxGuardedSize() { return g_page; }

bool IsGuarded(const void* ptr) {
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  return p >= g_base && p < __atomic_load_n(&g_end, __ATOMIC_ACQUIRE);
}

void* GuardedAllocate(size_t size, size_t alignment, void* const* pcs, int depth) {
  if (size > g_page || g_slots == nullptr) return nullptr;
  if (size == 0) size = 1;
  SpinLockHolder hold(&g_lock);
  if (g_live >= g_max_live) return nullptr;
  size_t slot = g_next;
  while (g_slots[slot].state == SlotState::kLive) slot = (slot + 1) % g_num_slots;
  g_next = (slot + 1) % g_num_slots;
  const uintptr_t page = ObjectPage(slot);
  if (mprotect(reinterpret_cast<void*>(page), g_page, PROT_READ | PROT_WRITE) != 0) {
    return nullptr;
  }
  Slot& s = g_slots[slot];
  s.state = SlotState::kLive;
  s.object = (page + g_page - size) & ~(alignment - 1);
  s.size = size;
  s.alloc_depth = depth;
  memcpy(s.alloc_pcs, pcs, sizeof(void*) * static_cast<size_t>(depth));
  s.free_depth = 0;
  __atomic_store_n(&g_live, g_live + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&g_allocations, g_allocations + 1, __ATOMIC_RELAXED);
  return reinterpret_cast<void*>(s.object);
}

void GuardedFree(void* ptr) {
  void* pcs[kMaxStackDepth];
  const int depth = CaptureStack(pcs, kMaxStackDepth, 1);
  g_lock.Lock();
  const uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  const size_t slot = SlotOf(ptr);
  Slot& s = g_slots[slot < g_num_slots ? slot : 0];
  if (slot >= g_num_slots || s.state != SlotState::kLive || s.object != p) {
    Report report;
    if (slot < g_num_slots && s.state == SlotState::kFreed && s.object == p) {
      report.Line("==== heap error: double free ====");
      report.Line("free(%p) of an object that was already freed", ptr);
      ReportObject(report, s, true);
    } else {
      report.Line("==== heap error: invalid free ====");
      report.Line("free(%p) of a pointer that is not the start of a live guarded object", ptr);
    }
    report.Stack("second free by:", pcs, depth);
    report.Line("==== end of report: SIGABRT follows ====");
    report.Send();
    g_lock.Unlock();
    abort();
  }
  s.state = SlotState::kFreed;
  s.free_depth = depth;
  memcpy(s.free_pcs, pcs, sizeof(void*) * static_cast<size_t>(depth));
  const uintptr_t page = ObjectPage(slot);
  // Drop the contents and make the page fault on any touch until the slot is reused.
  madvise(reinterpret_cast<void*>(page), g_page, MADV_DONTNEED);
  mprotect(reinterpret_cast<void*>(page), g_page, PROT_NONE);
  __atomic_store_n(&g_live, g_live - 1, __ATOMIC_RELAXED);
  g_lock.Unlock();
}

size_t GuardedUsableSize(const void* ptr) {
  const size_t slot = SlotOf(ptr);
  if (slot >= g_num_slots) return 0;
  const Slot& s = g_slots[slot];
  return s.object + s.size - reinterpret_cast<uintptr_t>(ptr);
}

uint64_t GuardedLive() { return __atomic_load_n(&g_live, __ATOMIC_RELAXED); }
SpinLock& GuardedPoolLock() { return g_lock; }

uint64_t GuardedAllocations() { return __atomic_load_n(&g_allocations, __ATOMIC_RELAXED); }

}  // namespace rseqmalloc::profile

#include "allocator/memory_release.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "allocator/common.h"
#include "allocator/config.h"
#include "allocator/heap.h"
#include "allocator/cpu_cache.h"
#include "allocator/diagnostics.h"
#include "allocator/page_heap.h"
#include "allocator/transfer_cache.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc {
namespace {

// What the previous tick saw, to tell idle from busy.
struct TickState {
  bool seen = false;
  uint64_t slot_misses[64] = {};
  size_t slot_bytes[64] = {};
  size_t class_objects[kNumClasses] = {};
  size_t page_heap_free = 0;
};

RSEQMALLOC_CONSTINIT SpinLock g_release_lock;  // serialises ticks and on-demand releases
RSEQMALLOC_CONSTINIT TickState g_tick;
RSEQMALLOC_CONSTINIT ReleaseTotals g_totals = {};
RSEQMALLOC_CONSTINIT bool g_background_on = false;  // set from the configuration at start-up
RSEQMALLOC_CONSTINIT bool g_thread_started = false;
RSEQMALLOC_CONSTINIT uint64_t g_last_tick_ms = 0;
// Per thread, so that counting slow-path calls shares no cache line between threads.
__thread uint32_t tls_slow_path_calls __attribute__((tls_model("initial-exec"))) = 0;

// Slots beyond this many are not tracked for idleness (they are still drained on demand).
constexpr size_t kTrackedSlots = 64;

void DrainIdleSlots() {
  const size_t slots = g_cpu_cache.NumSlots() < kTrackedSlots ? g_cpu_cache.NumSlots()
                                                              : kTrackedSlots;
  for (size_t i = 0; i < slots; ++i) {
    const int slot = static_cast<int>(i);
    const uint64_t misses = g_cpu_cache.SlotMisses(slot);
    const size_t bytes = g_cpu_cache.SlotBytes(slot);
    const bool idle = g_tick.seen && misses == g_tick.slot_misses[i] &&
                      bytes == g_tick.slot_bytes[i];
    if (idle && bytes != 0) {
      g_cpu_cache.DrainSlot(slot);
      ++g_totals.slots_drained;
    }
    g_tick.slot_misses[i] = g_cpu_cache.SlotMisses(slot);
    g_tick.slot_bytes[i] = g_cpu_cache.SlotBytes(slot);
  }
}

void FlushIdleTransferCaches() {
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    const size_t objects = g_transfer_caches[cl].cached_objects();
    if (g_tick.seen && objects != 0 && objects == g_tick.class_objects[cl]) {
      g_totals.transfer_objects_flushed += g_transfer_caches[cl].FlushToCentral();
    }
    g_tick.class_objects[cl] = g_transfer_caches[cl].cached_objects();
  }
}

// Whether any other thread of the process is still alive. A program whose threads all end with
// pthread_exit() (its main thread included) ends when its last thread does; the release thread
// must not be that last thread, or the process would never exit. The group leader stays listed
// (as a zombie) after it exits, so each task's state is read. Raw syscalls: no allocation.
bool AnotherThreadAlive() {
  const int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return true;  // cannot tell: keep running
  const long me = syscall(SYS_gettid);
  bool alive = false;
  char entries[2048];
  long n;
  while (!alive && (n = syscall(SYS_getdents64, dir, entries, sizeof(entries))) > 0) {
    for (long offset = 0; offset < n && !alive;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(entries + offset);
      offset += entry->d_reclen;
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      if (strtol(entry->d_name, nullptr, 10) == me) continue;
      char path[64], stat[512];
      FormatTo(path, sizeof(path), "/proc/self/task/%s/stat", entry->d_name);
      const int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;  // it has just gone
      const ssize_t len = read(fd, stat, sizeof(stat) - 1);
      close(fd);
      if (len <= 0) continue;
      stat[len] = '\0';
      // "tid (comm) S ...": the state follows the last ')'.
      const char* end_of_name = strrchr(stat, ')');
      alive = end_of_name == nullptr || end_of_name[1] != ' ' ||
              (end_of_name[2] != 'Z' && end_of_name[2] != 'X');
    }
  }
  close(dir);
  return alive;
}

void* BackgroundThread(void*) {
  for (;;) {
    const uint32_t period = g_config.release_period_ms;
    struct timespec pause = {static_cast<time_t>(period / 1000),
                             static_cast<long>(period % 1000) * 1000000L};
    nanosleep(&pause, nullptr);
    if (!AnotherThreadAlive()) {
      __atomic_store_n(&g_thread_started, false, __ATOMIC_RELEASE);
      pthread_exit(nullptr);  // the last thread: glibc ends the process as it would have
    }
    if (__atomic_load_n(&g_background_on, __ATOMIC_RELAXED)) {
      ReleaseTick();
      // Only here, never on an allocating thread: a collapse can take seconds.
      g_page_heap.CollapsePending();
    }
  }
  return nullptr;
}

}  // namespace

bool StartReleaseThread() {
  if (__atomic_exchange_n(&g_thread_started, true, __ATOMIC_ACQ_REL)) return true;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 << 10);
  // The thread must not take signals meant for the program's own threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  const bool started = pthread_create(&thread, &attr, BackgroundThread, nullptr) == 0;
  if (!started) __atomic_store_n(&g_thread_started, false, __ATOMIC_RELEASE);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
  return started;
}

void OnProgramThreadCreate() {
  if (__atomic_load_n(&g_thread_started, __ATOMIC_ACQUIRE)) return;
  EnsureInitialized();
  if (__atomic_load_n(&g_background_on, __ATOMIC_RELAXED)) StartReleaseThread();
}

namespace {

// RSEQMALLOC_RELEASE_THREAD=1: the thread starts before main(), from a constructor, where no
// libc lock is held (it may never start from inside malloc or free: see the header).
__attribute__((constructor)) void StartConfiguredReleaseThread() {
  EnsureInitialized();
  if (g_config.release_thread && g_config.background) StartReleaseThread();
}

}  // namespace

SpinLock& ReleaseLock() { return g_release_lock; }

void ReleaseAfterForkInChild() {
  g_thread_started = false;  // the parent's thread does not exist here
  g_tick.seen = false;
}

void ReleaseTick() {
  SpinLockHolder hold(&g_release_lock);
  ++g_totals.ticks;
  DrainIdleSlots();
  FlushIdleTransferCaches();
  // Memory that was free a period ago and is free now has stayed free for a period (as far as
  // two samples can tell): release that much.
  const size_t free_now = g_page_heap.GetStats().free_bytes;
  const size_t stale = g_tick.seen ? (free_now < g_tick.page_heap_free ? free_now
                                                                       : g_tick.page_heap_free)
                                   : 0;
  if (stale >= kPageSize) g_totals.released_bytes += g_page_heap.ReleaseFree(stale);
  g_tick.page_heap_free = g_page_heap.GetStats().free_bytes;
  g_tick.seen = true;
  g_last_tick_ms = CoarseMonotonicMs();
}

size_t ReleaseMemory(size_t bytes) {
  SpinLockHolder hold(&g_release_lock);
  for (size_t slot = 0; slot < g_cpu_cache.NumSlots(); ++slot) {
    g_cpu_cache.DrainSlot(static_cast<int>(slot));
  }
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) g_transfer_caches[cl].FlushToCentral();
  const size_t released = g_page_heap.ReleaseFree(bytes);
  g_totals.released_bytes += released;
  return released;
}

void MaybeReleaseOnSlowPath() {
  if (!__atomic_load_n(&g_background_on, __ATOMIC_RELAXED)) return;
  // Most slow-path calls stop here: one thread-local increment.
  if ((++tls_slow_path_calls & 255) != 0) return;
  if (__atomic_load_n(&g_thread_started, __ATOMIC_ACQUIRE)) return;  // the thread ticks
  if (CoarseMonotonicMs() - g_last_tick_ms >= g_config.release_period_ms && g_release_lock.TryLock()) {
    g_release_lock.Unlock();
    ReleaseTick();
  }
}

bool SetBackgroundRelease(bool on) {
  return __atomic_exchange_n(&g_background_on, on, __ATOMIC_ACQ_REL);
}

ReleaseTotals GetReleaseTotals() {
  SpinLockHolder hold(&g_release_lock);
  return g_totals;
}

}  // namespace rseqmalloc

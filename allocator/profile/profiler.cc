#include "allocator/profile/profiler.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "allocator/diagnostics.h"
#include "allocator/page_heap.h"
#include "allocator/profile/profile_writer.h"
#include "allocator/profile/sampler.h"
#include "allocator/profile/stack_trace.h"
#include "allocator/size_classes.h"

namespace rseqmalloc::profile {

bool g_sampling = false;

namespace {

SampleTable g_table;
uint32_t g_guard_percent = 0;
const char* g_prefix = "rseqmalloc";
// Set by the profile signal's handler; the next allocation writes the profiles, outside any
// lock, where writing files is safe (a signal handler could interrupt a holder of the lock).
volatile sig_atomic_t g_dump_requested = 0;
uint32_t g_dump_sequence = 0;
// Which samples are guarded: every (100 / percent)-th one on average, by a shared counter.
uint64_t g_guard_ticket = 0;

bool ChooseGuard() {
  if (g_guard_percent == 0) return false;
  const uint64_t ticket = __atomic_fetch_add(&g_guard_ticket, 1, __ATOMIC_RELAXED);
  return (ticket * g_guard_percent) % 100 < g_guard_percent;
}

// Writes <prefix>.<pid>.<tag>.<kind>.heap for the three kinds.
void WriteProfileFiles(const char* tag) {
  static const char* const kNames[] = {"live", "peak", "growth"};
  for (int kind = 0; kind < 3; ++kind) {
    char path[512];
    FormatTo(path, sizeof(path), "%s.%d.%s.%s.heap", g_prefix, static_cast<int>(getpid()), tag,
             kNames[kind]);
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      Log("warning: cannot write heap profile %s", path);
      continue;
    }
    if (!WriteProfile(g_table, static_cast<ProfileKind>(kind), fd)) {
      Log("warning: writing heap profile %s failed", path);
    }
    close(fd);
  }
  // Each dump closes one growth window and opens the next.
  g_table.StartWindow();
}

__attribute__((noinline)) void DumpRequested() {
  if (!__atomic_exchange_n(&g_dump_requested, 0, __ATOMIC_ACQ_REL)) return;
  char tag[16];
  FormatTo(tag, sizeof(tag), "%u", __atomic_add_fetch(&g_dump_sequence, 1, __ATOMIC_RELAXED));
  WriteProfileFiles(tag);
}

void OnProfileSignal(int) { g_dump_requested = 1; }

void WriteExitProfiles() { WriteProfileFiles("exit"); }

// Records a sample whose object is already allocated.
__attribute__((noinline)) void RecordSample(const void* object, size_t size,
                                            void* const* pcs, int depth) {
  g_table.Record(object, size, pcs, depth, SampleWeight(size));
}

// The stack of a sample starts at the allocation function's caller. The frames above it are
// fixed: CaptureStack <- Take*Sample <- SampleSmall / OnLargeAllocated <- heap.cc's slow path,
// which malloc reaches by a tail call; so two return addresses are skipped. KeepFrame after the
// Take*Sample calls stops the compiler from turning them into tail calls, which would remove
// a frame from that count.
constexpr int kSkippedFrames = 2;
inline void KeepFrame() { asm volatile(""); }

__attribute__((noinline)) void* TakeSmallSample(size_t size) {
  void* pcs[kMaxStackDepth];
  const int depth = CaptureStack(pcs, kMaxStackDepth, kSkippedFrames);
  void* object = nullptr;
  if (size <= MaxGuardedSize() && ChooseGuard()) {
    // Objects end at the guard page, so they are aligned to the largest power of two that
    // divides their class size, as the class's own objects are.
    object = GuardedAllocate(size, size & (~size + 1), pcs, depth);
  }
  if (object == nullptr) {
    // A span of its own, so that free() finds it by the span's flag without a lookup.
    Span* span = g_page_heap.New(PagesFor(size));
    if (span == nullptr) return nullptr;  // the ordinary path will report the exhaustion
    span->sampled = true;
    object = span->start();
  }
  RecordSample(object, size, pcs, depth);
  return object;
}

__attribute__((noinline)) void TakeLargeSample(Span* span, size_t size) {
  void* pcs[kMaxStackDepth];
  const int depth = CaptureStack(pcs, kMaxStackDepth, kSkippedFrames);
  span->sampled = true;
  RecordSample(span->start(), size, pcs, depth);
}

}  // namespace

bool Wanted(const Config& config) {
  return config.profile || config.profile_at_exit || config.profile_signal != 0 || config.guard;
}

bool Init(const Config& config) {
  if (!Wanted(config)) return false;
  if (!g_table.Init()) {
    Log("warning: cannot reserve the heap profile's tables; profiling stays off");
    return false;
  }
  SetMeanSampleInterval(config.profile_sample_bytes);
  g_prefix = config.profile_prefix;
  if (config.guard) {
    if (InitGuardedPool(config.guard_max)) {
      g_guard_percent = config.guard_percent;
    } else {
      Log("warning: cannot reserve the guarded pool; guarded sampling stays off");
    }
  }
  g_sampling = true;
  return true;
}

void StartTriggers(const Config& config) {
  if (!g_sampling) return;
  if (config.profile_at_exit) atexit(WriteExitProfiles);
  if (config.profile_signal != 0) {
    struct sigaction action = {};
    action.sa_handler = OnProfileSignal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(config.profile_signal, &action, nullptr) != 0) {
      Log("warning: cannot install the profile signal %d", config.profile_signal);
    }
  }
}

void* SampleSmall(uint32_t size_class) {
  if (__builtin_expect(g_dump_requested, 0)) DumpRequested();
  const size_t size = SizeMap::ClassSize(size_class);
  if (__builtin_expect(!ShouldSample(size), 1)) return nullptr;
  void* sample = TakeSmallSample(size);
  KeepFrame();
  return sample;
}

void OnLargeAllocated(Span* span, size_t size) {
  if (__builtin_expect(g_dump_requested, 0)) DumpRequested();
  if (__builtin_expect(!ShouldSample(size), 1)) return;
  TakeLargeSample(span, size);
  KeepFrame();
}

void OnSampledSpanFree(Span* span) {
  span->sampled = false;
  g_table.Remove(span->start());
}

void FreeGuardedSample(void* ptr) {
  GuardedFree(ptr);  // reports and aborts on a double or invalid free
  g_table.Remove(ptr);
}

int WriteProfileTo(int kind, int fd) {
  if (!g_sampling || kind < 0 || kind > 2) return -1;
  return WriteProfile(g_table, static_cast<ProfileKind>(kind), fd) ? 0 : -1;
}

size_t FormatProfileInto(int kind, char* buf, size_t size) {
  if (!g_sampling || kind < 0 || kind > 2) {
    if (size > 0) buf[0] = '\0';
    return 0;
  }
  return FormatProfile(g_table, static_cast<ProfileKind>(kind), buf, size);
}

void StartGrowthWindow() {
  if (g_sampling) g_table.StartWindow();
}

const SampleTable& Samples() { return g_table; }

void LockForFork() {
  g_table.lock().Lock();
  GuardedPoolLock().Lock();
}

void UnlockAfterFork() {
  GuardedPoolLock().Unlock();
  g_table.lock().Unlock();
}

}  // namespace rseqmalloc::profile

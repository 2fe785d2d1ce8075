#include "allocator/heap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "allocator/config.h"
#include "allocator/diagnostics.h"
#include "allocator/fork_handlers.h"
#include "allocator/memory_release.h"
#include "allocator/page_heap.h"
#include "allocator/profile/profiler.h"
#include "allocator/span.h"
#include "allocator/spin_lock.h"
#include "allocator/statistics.h"
#include "allocator/thread_cache.h"
#include "allocator/transfer_cache.h"
#include "percpu/possible_cpus.h"
#include "percpu/rseq_registration.h"

extern char** environ;

namespace rseqmalloc {
namespace {

enum class FrontEnd : uint8_t { kUninitialized, kPerCpu, kThread };

RSEQMALLOC_CONSTINIT FrontEnd g_front_end = FrontEnd::kUninitialized;
RSEQMALLOC_CONSTINIT SpinLock g_init_lock;
// Set while this thread runs the initialisation, so that an allocation made from inside it
// (by a libc function we call) is served without recursing into it.
__thread bool tls_initializing __attribute__((tls_model("initial-exec"))) = false;

// Larger requests fail with ENOMEM before any page arithmetic can overflow.
constexpr size_t kMaxRequest = size_t{1} << 46;

percpu::SlotKeyRequest SlotKeyRequestOf(const Config& config) {
  if (!config.rseq) return percpu::SlotKeyRequest::kOff;
  switch (config.slot_key) {
    case SlotKeyChoice::kMmCid: return percpu::SlotKeyRequest::kMmCid;
    case SlotKeyChoice::kCpuId: return percpu::SlotKeyRequest::kCpuId;
    case SlotKeyChoice::kAuto: break;
  }
  return percpu::SlotKeyRequest::kAuto;
}

void PrintStatisticsAtExit() {
  ForEachStatistic(
      [](const char* name, uint64_t value, void*) {
        Log("%s %lu", name, static_cast<unsigned long>(value));
      },
      nullptr);
}

void InitializeSlow() {
  if (tls_initializing) return;
  tls_initializing = true;
  g_init_lock.Lock();
  if (__atomic_load_n(&g_front_end, __ATOMIC_ACQUIRE) != FrontEnd::kUninitialized) {
    g_init_lock.Unlock();
    tls_initializing = false;
    return;
  }
  // Before anything can allocate: free() reads classes from here from now on.
  const uint8_t* class_map = g_pagemap.ClassMap();
  if (class_map == nullptr) Fatal("cannot reserve the size-class map at start-up");
  g_cpu_cache.set_class_map(class_map);
  ParseConfig(environ, &g_config);
  g_page_heap.set_prompt_release(g_config.prompt_release);
  percpu::RseqOptions options;
  options.key = SlotKeyRequestOf(g_config);
  options.slice_extension = g_config.slice_extension;
  const bool rseq = percpu::RseqProcessInit(options);
  // One transfer-cache shard per possible CPU, up to the maximum. (sysconf would allocate.)
  const int shards = static_cast<int>(percpu::NumPossibleCpus());
  if (!TransferCache::InitClasses(g_transfer_caches, kNumClasses, shards)) {
    Fatal("cannot map metadata at start-up");
  }
  // [profile hook] Sampling needs every allocation on the slow path: no per-CPU front end.
  const bool sampling = profile::Init(g_config);
  const bool per_cpu = rseq && !sampling && g_cpu_cache.Init(g_config.cpu_cache_bytes);
  __atomic_store_n(&g_front_end, per_cpu ? FrontEnd::kPerCpu : FrontEnd::kThread,
                   __ATOMIC_RELEASE);
  g_init_lock.Unlock();
  // From here on allocation works, so libc functions that allocate may be called.
  if (!ThreadCache::InitProcess()) Fatal("cannot create the thread-exit key");
  InstallForkHandlers();
  SetBackgroundRelease(g_config.background);
  if (g_config.stats_at_exit) atexit(PrintStatisticsAtExit);
  profile::StartTriggers(g_config);  // [profile hook]
  tls_initializing = false;
  if (g_config.verbose) {
    char line[256];
    percpu::CurrentRseqStatus().Format(line, sizeof(line));
    Log("%s front_end=%s", line, per_cpu ? "per_cpu" : "thread");
  }
}

// An object for a thread that cannot use (or has no longer) a per-CPU or thread cache.
void* AllocateFromThreadCache(uint32_t size_class) {
  if (ThreadCache* cache = ThreadCache::Current()) return cache->Allocate(size_class);
  return AllocateUncached(size_class);
}

[[noreturn]] void InvalidFree(const void* ptr, const Span* span) {
  if (span != nullptr && (span->state == Span::State::kFree ||
                          span->state == Span::State::kReturned)) {
    Fatal("free(): double free of %p", ptr);
  }
  Fatal("free(): invalid pointer %p (not allocated by rseqmalloc)", ptr);
}

}  // namespace

void EnsureInitialized() {
  if (RSEQMALLOC_LIKELY(__atomic_load_n(&g_front_end, __ATOMIC_ACQUIRE) !=
                        FrontEnd::kUninitialized)) {
    return;
  }
  InitializeSlow();
}

bool SetThreadBypassesCaches(bool bypass) {
  const bool previous = tls_initializing;
  tls_initializing = bypass;
  return previous;
}

void* AllocateSmallSlow(uint32_t size_class) {
  EnsureInitialized();
  if (tls_initializing) return AllocateUncached(size_class);
  MaybeReleaseOnSlowPath();
  // [profile hook] Counts the bytes; a sample comes back already allocated.
  if (profile::g_sampling) {
    if (void* sample = profile::SampleSmall(size_class)) return sample;
  }
  if (g_front_end == FrontEnd::kPerCpu) {
    bool usable;
    void* object = g_cpu_cache.Refill(size_class, &usable);
    if (usable) return object;
  }
  return AllocateFromThreadCache(size_class);
}

void* AllocateMiss(size_t size) {
  const uint32_t size_class = SizeMap::ClassFor(size);
  if (size_class == 0) return AllocateLarge(size, 0);
  return AllocateSmallSlow(size_class);
}

void DeallocateSlow(void* ptr) noexcept {
  if (ptr == nullptr) return;
  // The authoritative (bounds-checked) lookup: the hit path's may have read a sized caller's
  // class, or class 0 for a large or foreign pointer.
  const uint32_t size_class = g_pagemap.GetSizeClass(PageIdOf(ptr));
  if (size_class != 0) {
    if (!tls_initializing) MaybeReleaseOnSlowPath();
    if (g_front_end == FrontEnd::kPerCpu && !tls_initializing &&
        g_cpu_cache.Overflow(size_class, ptr)) {
      return;
    }
    if (tls_initializing) return DeallocateUncached(size_class, ptr);
    if (ThreadCache* cache = ThreadCache::Current()) return cache->Deallocate(size_class, ptr);
    return DeallocateUncached(size_class, ptr);
  }
  // [profile hook] Guarded objects live outside the pagemap.
  if (profile::IsGuarded(ptr)) return profile::FreeGuardedSample(ptr);
  Span* span = g_pagemap.GetSpan(PageIdOf(ptr));
  if (span == nullptr || span->state != Span::State::kLarge || span->start() != ptr) {
    InvalidFree(ptr, span);
  }
  if (span->sampled) profile::OnSampledSpanFree(span);  // [profile hook]
  g_page_heap.Delete(span);
}

void* AllocateLarge(size_t size, size_t alignment) {
  EnsureInitialized();
  if (size > kMaxRequest || alignment > kMaxRequest) {
    errno = ENOMEM;
    return nullptr;
  }
  size_t pages = PagesFor(size);
  if (pages == 0) pages = 1;
  Span* span = alignment > kPageSize ? g_page_heap.NewAligned(pages, alignment >> kPageShift)
                                     : g_page_heap.New(pages);
  if (span == nullptr) {
    errno = ENOMEM;
    return nullptr;
  }
  if (profile::g_sampling) profile::OnLargeAllocated(span, size);  // [profile hook]
  return span->start();
}

void* AllocateAligned(size_t size, size_t alignment) {
  if (alignment <= 8) return Allocate(size);
  if (alignment <= kPageSize) {
    const uint32_t size_class = SizeMap::ClassForAligned(size, alignment);
    if (size_class != 0) {
      void* object = g_cpu_cache.Allocate(size_class);
      if (RSEQMALLOC_LIKELY(object != nullptr)) return object;
      return AllocateSmallSlow(size_class);
    }
  }
  // Spans start on page boundaries, so a large allocation is page-aligned already.
  return AllocateLarge(size, alignment);
}

bool ResizeInPlace(void* ptr, size_t size) {
  const uint32_t size_class = g_pagemap.GetSizeClass(PageIdOf(ptr));
  if (size_class != 0) return SizeMap::ClassFor(size) == size_class;
  if (size <= kMaxSmallSize || size > kMaxRequest) return false;
  if (profile::IsGuarded(ptr)) return false;  // [profile hook]
  Span* span = g_pagemap.GetSpan(PageIdOf(ptr));
  if (span == nullptr || span->state != Span::State::kLarge || span->start() != ptr) {
    Fatal("realloc(): invalid pointer %p (not allocated by rseqmalloc)", ptr);
  }
  if (span->sampled) return false;  // [profile hook] a sample keeps its recorded size
  const size_t pages = PagesFor(size);
  if (pages == span->num_pages) return true;
  return pages > span->num_pages ? g_page_heap.ExtendInPlace(span, pages)
                                 : g_page_heap.ShrinkInPlace(span, pages);
}

size_t UsableSize(const void* ptr) {
  if (ptr == nullptr) return 0;
  const uint32_t size_class = g_pagemap.GetSizeClass(PageIdOf(ptr));
  if (size_class != 0) return SizeMap::ClassSize(size_class);
  if (profile::IsGuarded(ptr)) return profile::GuardedUsableSize(ptr);  // [profile hook]
  const Span* span = g_pagemap.GetSpan(PageIdOf(ptr));
  if (span == nullptr || span->state != Span::State::kLarge || span->start() != ptr) {
    Fatal("malloc_usable_size(): invalid pointer %p (not allocated by rseqmalloc)", ptr);
  }
  return span->bytes();
}

}  // namespace rseqmalloc

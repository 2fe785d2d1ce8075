#include "allocator/thread_cache.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "allocator/cache_growth.h"
#include "allocator/metadata_arena.h"
#include "allocator/transfer_cache.h"

namespace rseqmalloc {
namespace {

enum class CacheState : uint8_t { kNone, kLive, kExited };

// Initial-exec TLS: reading it costs one %fs-relative load and never calls into the dynamic
// linker (which could allocate).
__thread ThreadCache* tls_cache __attribute__((tls_model("initial-exec"))) = nullptr;
__thread CacheState tls_state __attribute__((tls_model("initial-exec"))) = CacheState::kNone;

pthread_key_t g_exit_key;
RSEQMALLOC_CONSTINIT ObjectPool<ThreadCache> g_cache_pool;
// Spreads threads over the transfer-cache shards.
RSEQMALLOC_CONSTINIT unsigned g_next_shard = 0;

// Most objects a thread may hold per class, and the bytes per thread overall.
constexpr uint32_t kMaxLengthCap = 256;
constexpr size_t kMaxThreadBytes = 2 << 20;

// Raises a list's limit by the slow-start step (allocator/cache_growth.h).
void GrowLimit(uint32_t* max_length, uint32_t size_class) {
  *max_length += static_cast<uint32_t>(ClassGrowthStep(*max_length, size_class));
}

}  // namespace

SpinLock& ThreadCachePoolLock() { return g_cache_pool.lock(); }

bool ThreadCache::InitProcess() { return pthread_key_create(&g_exit_key, OnThreadExit) == 0; }

ThreadCache* ThreadCache::Current() {
  if (__builtin_expect(tls_cache != nullptr, 1)) return tls_cache;
  if (tls_state == CacheState::kExited) return nullptr;
  return Create();
}

ThreadCache* ThreadCache::Create() {
  ThreadCache* cache = g_cache_pool.New();
  if (cache == nullptr) return nullptr;
  // Every list starts empty with no room (slow start, allocator/cache_growth.h): New() hands
  // out zeroed objects.
  cache->shard_ = static_cast<int>(__atomic_fetch_add(&g_next_shard, 1, __ATOMIC_RELAXED));
  tls_cache = cache;
  tls_state = CacheState::kLive;
  // The key's value only has to be non-null for the destructor to run at thread exit.
  pthread_setspecific(g_exit_key, cache);
  return cache;
}

void ThreadCache::OnThreadExit(void* arg) {
  auto* cache = static_cast<ThreadCache*>(arg);
  // Later destructors of this thread may still allocate: they bypass the cache.
  tls_cache = nullptr;
  tls_state = CacheState::kExited;
  cache->Flush();
  g_cache_pool.Delete(cache);
}

void* ThreadCache::Allocate(uint32_t size_class) {
  FreeList& list = lists_[size_class];
  if (__builtin_expect(list.head != nullptr, 1)) {
    void* object = list.head;
    list.head = *static_cast<void**>(object);
    --list.length;
    cached_bytes_ -= SizeMap::ClassSize(size_class);
    return object;
  }
  // Let the list grow (slow start, as the per-CPU capacities do), then refill what fits.
  if (list.max_length < kMaxLengthCap) GrowLimit(&list.max_length, size_class);
  void* batch[kMaxBatch];
  const int want = static_cast<int>(ClassRefillCount(list.max_length, size_class));
  const int got = g_transfer_caches[size_class].Remove(shard_, batch, want);
  if (got == 0) {
    errno = ENOMEM;
    return nullptr;
  }
  for (int i = 1; i < got; ++i) {
    *static_cast<void**>(batch[i]) = list.head;
    list.head = batch[i];
  }
  list.length += static_cast<uint32_t>(got - 1);
  cached_bytes_ += static_cast<size_t>(got - 1) * SizeMap::ClassSize(size_class);
  return batch[0];
}

void ThreadCache::Deallocate(uint32_t size_class, void* object) {
  FreeList& list = lists_[size_class];
  *static_cast<void**>(object) = list.head;
  list.head = object;
  ++list.length;
  cached_bytes_ += SizeMap::ClassSize(size_class);
  if (__builtin_expect(list.length > list.max_length || cached_bytes_ > kMaxThreadBytes, 0)) {
    const size_t batch_size = BatchOf(size_class);
    if (list.max_length < batch_size && cached_bytes_ <= kMaxThreadBytes) {
      // Still in slow start: make room rather than send objects away.
      GrowLimit(&list.max_length, size_class);
      return;
    }
    ReleaseBatch(size_class, static_cast<uint32_t>(batch_size));
  }
}

void ThreadCache::ReleaseBatch(uint32_t size_class, uint32_t count) {
  FreeList& list = lists_[size_class];
  void* batch[64];
  while (count > 0 && list.length > 0) {
    int n = 0;
    while (n < 64 && count > 0 && list.head != nullptr) {
      batch[n++] = list.head;
      list.head = *static_cast<void**>(list.head);
      --list.length;
      --count;
    }
    cached_bytes_ -= static_cast<size_t>(n) * SizeMap::ClassSize(size_class);
    g_transfer_caches[size_class].Insert(shard_, batch, n);
  }
}

void ThreadCache::Flush() {
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) ReleaseBatch(cl, UINT32_MAX);
}

void* AllocateUncached(uint32_t size_class) {
  void* object;
  if (g_transfer_caches[size_class].Remove(0, &object, 1) == 0) {
    errno = ENOMEM;
    return nullptr;
  }
  return object;
}

void DeallocateUncached(uint32_t size_class, void* object) {
  g_transfer_caches[size_class].Insert(0, &object, 1);
}

}  // namespace rseqmalloc

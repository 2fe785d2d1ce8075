#include "allocator/fork_handlers.h"

#include <pthread.h>

#include "allocator/cpu_cache.h"
#include "allocator/diagnostics.h"
#include "allocator/memory_release.h"
#include "allocator/page_heap.h"
#include "allocator/profile/profiler.h"
#include "allocator/thread_cache.h"
#include "allocator/transfer_cache.h"

namespace rseqmalloc {
namespace {

// Locks are taken in the order the allocator may nest them (the release lock, the per-CPU
// drain lock, a transfer-cache shard, then the central free list, then the pool of thread
// caches, then the page heap with its pagemap, span pool and metadata arena) and released in
// reverse.
void LockAll() {
  ReleaseLock().Lock();
  g_cpu_cache.drain_lock().Lock();
  for (uint32_t cl = 1; cl < kNumClasses; ++cl) {
    TransferCache& cache = g_transfer_caches[cl];
    for (int i = 0; i < cache.num_shards(); ++i) cache.shard(i).lock().Lock();
    cache.central().lock().Lock();
  }
  ThreadCachePoolLock().Lock();
  g_page_heap.LockAllForFork();
  profile::LockForFork();  // never held together with another allocator lock
}

void UnlockAllInParent() {
  profile::UnlockAfterFork();
  g_page_heap.UnlockAllAfterFork();
  ThreadCachePoolLock().Unlock();
  for (uint32_t cl = kNumClasses - 1; cl >= 1; --cl) {
    TransferCache& cache = g_transfer_caches[cl];
    cache.central().lock().Unlock();
    for (int i = cache.num_shards() - 1; i >= 0; --i) cache.shard(i).lock().Unlock();
  }
  g_cpu_cache.drain_lock().Unlock();
  ReleaseLock().Unlock();
}

void UnlockAllInChild() {
  UnlockAllInParent();
  ReleaseAfterForkInChild();
}

}  // namespace

void InstallForkHandlers() {
  if (pthread_atfork(LockAll, UnlockAllInParent, UnlockAllInChild) != 0) {
    Fatal("cannot install fork handlers");
  }
}

}  // namespace rseqmalloc

#include "allocator/metadata_arena.h"

#include <errno.h>
#include <stdint.h>

#include "allocator/common.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc {
namespace {

// Chunks are big enough that mmap is rare (a span is ~64 bytes: 16K spans per chunk) and small
// enough that a process with a tiny heap does not reserve much; MAP_NORESERVE and lazy faulting
// mean untouched parts cost nothing resident anyway.
constexpr size_t kChunkSize = size_t{1} << 20;
// Requests above this get their own mapping, so a pagemap leaf does not waste most of a chunk.
constexpr size_t kDirectThreshold = kChunkSize / 4;

struct Arena {
  SpinLock lock;
  uintptr_t next = 0;   // bump pointer into the current chunk
  uintptr_t limit = 0;  // end of the current chunk
  size_t mapped_bytes = 0;
  size_t allocated_bytes = 0;
};

// Constant-initialised: MetadataAlloc can run before any constructor.
RSEQMALLOC_CONSTINIT Arena g_arena;

}  // namespace

void* MetadataAlloc(size_t bytes, size_t alignment) {
  if (alignment == 0) alignment = 1;
  if (!IsPowerOfTwo(alignment) || alignment > kMaxSystemAlignment) {
    errno = EINVAL;
    return nullptr;
  }
  if (bytes == 0) bytes = 1;
  if (bytes > kDirectThreshold || alignment > SystemPageSize()) {
    void* direct = SystemAlloc(bytes, alignment);
    if (direct == nullptr) {
      errno = ENOMEM;
      return nullptr;
    }
    size_t rounded = bytes;
    RoundUpChecked(bytes, SystemPageSize(), &rounded);
    SpinLockHolder h(&g_arena.lock);
    g_arena.mapped_bytes += rounded;
    g_arena.allocated_bytes += rounded;
    return direct;
  }

  SpinLockHolder h(&g_arena.lock);
  uintptr_t start = (g_arena.next + alignment - 1) & ~(uintptr_t{alignment} - 1);
  if (g_arena.next == 0 || start + bytes > g_arena.limit) {
    // The rest of the old chunk is abandoned: at most kDirectThreshold bytes of address space.
    void* chunk = SystemAlloc(kChunkSize, SystemPageSize());
    if (chunk == nullptr) {
      errno = ENOMEM;
      return nullptr;
    }
    g_arena.next = reinterpret_cast<uintptr_t>(chunk);
    g_arena.limit = g_arena.next + kChunkSize;
    g_arena.mapped_bytes += kChunkSize;
    start = (g_arena.next + alignment - 1) & ~(uintptr_t{alignment} - 1);
  }
  g_arena.allocated_bytes += start + bytes - g_arena.next;
  g_arena.next = start + bytes;
  // Fresh mmap memory is zero and arena memory is never reused, so no memset is needed.
  return reinterpret_cast<void*>(start);
}

SpinLock& MetadataArenaLock() { return g_arena.lock; }

MetadataStats GetMetadataStats() {
  SpinLockHolder h(&g_arena.lock);
  return MetadataStats{g_arena.mapped_bytes, g_arena.allocated_bytes};
}

}  // namespace rseqmalloc

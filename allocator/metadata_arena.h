// Memory for the allocator's own bookkeeping (spans, pagemap leaves, caches).
//
// We are malloc, so metadata cannot come from malloc. It comes from a bump allocator over large
// mmap'd chunks and is never given back: metadata is small next to the heap it describes, and
// objects that are recycled (spans) go through an ObjectPool free list instead.
#ifndef RSEQMALLOC_ALLOCATOR_METADATA_ARENA_H_
#define RSEQMALLOC_ALLOCATOR_METADATA_ARENA_H_

#include <stddef.h>
#include <string.h>

#include <new>

#include "allocator/spin_lock.h"

namespace rseqmalloc {

// Returns `bytes` of zeroed memory aligned to `alignment` (a power of two, at most the kernel
// page size is guaranteed; larger alignments are honoured for big requests that get their own
// mapping), or nullptr on OOM with errno = ENOMEM. Thread-safe. May call mmap, under the arena's
// own lock only: callers that must not make syscalls (page heap, central lists) call it before
// taking their lock.
void* MetadataAlloc(size_t bytes, size_t alignment);

struct MetadataStats {
  size_t mapped_bytes;     // obtained from the system for metadata
  size_t allocated_bytes;  // handed out by MetadataAlloc, padding included
};
MetadataStats GetMetadataStats();

// The arena's lock, for fork handlers: hold it across fork() so the child never inherits it
// taken by a thread that no longer exists. Nothing else may be done with it.
SpinLock& MetadataArenaLock();

// A free-list recycler of T over MetadataAlloc. T must be trivially destructible and at least
// pointer-sized in practice (the free list is threaded through freed objects; smaller T are
// padded). New() returns zero-initialised objects (then default-constructed in place), nullptr
// on OOM.
template <typename T>
class ObjectPool {
 public:
  constexpr ObjectPool() : free_list_(nullptr), live_(0), total_(0) {}
  ObjectPool(const ObjectPool&) = delete;
  ObjectPool& operator=(const ObjectPool&) = delete;

  T* New() {
    void* memory = nullptr;
    {
      SpinLockHolder h(&lock_);
      if (free_list_ != nullptr) {
        memory = free_list_;
        free_list_ = free_list_->next;
        ++live_;
      }
    }
    if (memory == nullptr) {
      // Outside our lock: MetadataAlloc may mmap.
      memory = MetadataAlloc(kSlotSize, kSlotAlign);
      if (memory == nullptr) return nullptr;
      SpinLockHolder h(&lock_);
      ++live_;
      ++total_;
    }
    memset(memory, 0, sizeof(T));
    return new (memory) T;
  }

  void Delete(T* object) {
    if (object == nullptr) return;
    FreeSlot* slot = reinterpret_cast<FreeSlot*>(object);
    SpinLockHolder h(&lock_);
    slot->next = free_list_;
    free_list_ = slot;
    --live_;
  }

  // Objects currently handed out, and objects ever carved from the arena.
  size_t live() {
    SpinLockHolder h(&lock_);
    return live_;
  }
  size_t total() {
    SpinLockHolder h(&lock_);
    return total_;
  }

  // For fork handlers only.
  SpinLock& lock() { return lock_; }

 private:
  struct FreeSlot {
    FreeSlot* next;
  };
  static constexpr size_t kSlotSize = sizeof(T) > sizeof(FreeSlot) ? sizeof(T) : sizeof(FreeSlot);
  static constexpr size_t kSlotAlign =
      alignof(T) > alignof(FreeSlot) ? alignof(T) : alignof(FreeSlot);

  SpinLock lock_;
  FreeSlot* free_list_;
  size_t live_;
  size_t total_;
};

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_METADATA_ARENA_H_

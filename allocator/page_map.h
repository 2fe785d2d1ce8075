// The pagemap: page id -> span and page id -> size class, for free() without a size.
//
// Spans: a two-level radix tree over the 2^35 page ids of a 48-bit address space. The root is a
// fixed array in .bss (1 MiB of address space, resident only where touched); each leaf covers
// 2^18 pages (2 GiB of address space) and holds one Span* per page. Leaves come from
// MetadataAlloc and are never freed, which is what lets readers go without locks: a leaf
// pointer, once published, stays valid forever.
//
// Size classes: one flat byte array indexed by page id (2^35 bytes of address space, reserved
// once with MAP_NORESERVE and never freed; only pages of it that describe used heap pages become
// resident: one 4 KiB page of classes covers 32 MiB of heap). free() finds a pointer's class with
// a shift and one byte load (ClassMap()[PageIdOf(p)]), no dependent leaf load.
#ifndef RSEQMALLOC_ALLOCATOR_PAGE_MAP_H_
#define RSEQMALLOC_ALLOCATOR_PAGE_MAP_H_

#include <stddef.h>
#include <stdint.h>

#include "allocator/common.h"
#include "allocator/span.h"
#include "allocator/spin_lock.h"

namespace rseqmalloc {

class PageMap {
 public:
  static constexpr int kPageIdBits = kAddressBits - static_cast<int>(kPageShift);  // 35
  static constexpr int kLeafBits = 18;
  static constexpr int kRootBits = kPageIdBits - kLeafBits;  // 17
  static constexpr size_t kLeafLength = size_t{1} << kLeafBits;
  static constexpr size_t kRootLength = size_t{1} << kRootBits;

  constexpr PageMap() : root_{}, classes_(nullptr), leaves_(0) {}
  PageMap(const PageMap&) = delete;
  PageMap& operator=(const PageMap&) = delete;

  // Makes sure leaves exist for pages [first, first + n). May mmap (takes only the pagemap's
  // own lock, which no fast path waits for): call it before taking the page heap's lock.
  // Returns false on OOM or for a range outside the 48-bit address space.
  bool Ensure(PageId first, size_t n);

  // nullptr for pages that no span covers (or whose leaf does not exist), for any address.
  // Every span (free, large or small) has its first and last page mapped to it; every page of
  // a small span maps to it. Interior entries of free runs and large spans are stale: callers
  // that look up an arbitrary page must check that the span they get covers it.
  Span* GetSpan(PageId p) const {
    const Leaf* leaf = LeafFor(p);
    if (leaf == nullptr) return nullptr;
    return __atomic_load_n(&leaf->span[p & (kLeafLength - 1)], __ATOMIC_RELAXED);
  }

  // 0 unless the page belongs to a small span whose class was set.
  uint8_t GetSizeClass(PageId p) const {
    if ((p >> kPageIdBits) != 0) return 0;
    const uint8_t* classes = __atomic_load_n(&classes_, __ATOMIC_ACQUIRE);
    if (classes == nullptr) return 0;
    return __atomic_load_n(&classes[p], __ATOMIC_RELAXED);
  }

  // The flat class array (indexable by every page id below 2^35), reserving it on first use;
  // nullptr if it cannot be reserved. Never moves once returned.
  const uint8_t* ClassMap();

  // The setters require the range to have been Ensure'd (they trap otherwise: writing a page
  // we have no leaf for is a heap bug). Entries are written with relaxed atomic stores so that
  // lock-free readers never see torn values; ordering comes from the callers' locks.
  void Set(PageId p, Span* s) {
    Leaf* leaf = LeafOrDie(p);
    __atomic_store_n(&leaf->span[p & (kLeafLength - 1)], s, __ATOMIC_RELAXED);
  }
  void SetRange(PageId first, size_t n, Span* s);
  void SetSizeClass(PageId first, size_t n, uint8_t cl);

  // For fork handlers only (guards leaf creation; Ensure takes the metadata arena's lock
  // inside it).
  SpinLock& lock() { return lock_; }

  // Leaves allocated so far (each kLeafBytes of metadata address space).
  size_t leaves() const { return __atomic_load_n(&leaves_, __ATOMIC_RELAXED); }

 private:
  struct Leaf {
    Span* span[kLeafLength];
  };

 public:
  static constexpr size_t kLeafBytes = sizeof(Leaf);

 private:
  const Leaf* LeafFor(PageId p) const {
    if ((p >> kPageIdBits) != 0) return nullptr;
    // Acquire pairs with the release in Ensure: a reader that sees the leaf sees it zeroed.
    return __atomic_load_n(&root_[p >> kLeafBits], __ATOMIC_ACQUIRE);
  }
  Leaf* LeafOrDie(PageId p) {
    Leaf* leaf = (p >> kPageIdBits) == 0 ? __atomic_load_n(&root_[p >> kLeafBits], __ATOMIC_ACQUIRE)
                                         : nullptr;
    if (leaf == nullptr) __builtin_trap();
    return leaf;
  }

  Leaf* root_[kRootLength];
  uint8_t* classes_;  // the flat class array (see the top of this file)
  size_t leaves_;
  SpinLock lock_;  // serialises leaf creation only
};

extern PageMap g_pagemap;

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_PAGE_MAP_H_

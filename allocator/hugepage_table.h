// Per-hugepage bookkeeping of the page heap: how many of each 2 MiB hugepage's pages are handed
// out, and what the heap believes about its backing. See docs/page_heap.md ("Hugepages").
//
// A two-level table over the 2^27 hugepages of a 48-bit address space, shaped like the pagemap:
// a root array (256 KiB of address space, resident only where used) and leaves of 4096 entries
// (8 GiB of heap each) from the metadata arena, never freed. Entries are only read and written
// under the page heap's lock.
#ifndef RSEQMALLOC_ALLOCATOR_HUGEPAGE_TABLE_H_
#define RSEQMALLOC_ALLOCATOR_HUGEPAGE_TABLE_H_

#include <stddef.h>
#include <stdint.h>

#include "allocator/common.h"

namespace rseqmalloc {

using HugePageId = uintptr_t;  // address >> 21

inline constexpr int kHugePageShift = 21;
inline constexpr int kPageToHugeShift = kHugePageShift - static_cast<int>(kPageShift);

inline HugePageId HugePageOfPage(PageId p) { return p >> kPageToHugeShift; }
inline PageId FirstPageOfHuge(HugePageId h) { return h << kPageToHugeShift; }

struct HugePageEntry {
  uint16_t used_pages;  // pages of this hugepage inside spans handed out (kLarge or kSmall)
  // Of those, pages of large allocations (spans not placed by NewSmall). A large block may be
  // touched sparsely, so a hugepage that holds part of one is never marked: the mark would make
  // its untouched pages resident too (see NoteInUseLocked).
  uint16_t large_pages;
  // Some page may be resident: set at the first use after the hugepage was fresh or wholly
  // released; cleared when a release covers the whole hugepage.
  static constexpr uint8_t kTouched = 1;
  // Marked MADV_HUGEPAGE (the marking stays with the mapping, released or not).
  static constexpr uint8_t kAdvised = 2;
  // Believed to be one hugepage: first touched after it was advised (or under THP=always), or
  // collapsed. Cleared by any release inside it (which splits or frees the hugepage).
  static constexpr uint8_t kBacked = 4;
  // A collapse was tried since the last release (it is tried once).
  static constexpr uint8_t kCollapseTried = 8;
  uint8_t flags;
  uint8_t reserved;
};

class HugePageTable {
 public:
  static constexpr int kHugeIdBits = kAddressBits - kHugePageShift;  // 27
  static constexpr int kLeafBits = 12;
  static constexpr int kRootBits = kHugeIdBits - kLeafBits;  // 15
  static constexpr size_t kLeafLength = size_t{1} << kLeafBits;

  constexpr HugePageTable() : root_{} {}
  HugePageTable(const HugePageTable&) = delete;
  HugePageTable& operator=(const HugePageTable&) = delete;

  // Makes sure entries exist for the hugepages of pages [first, first + n). May mmap: call it
  // without the page heap's lock (as for PageMap::Ensure). False on OOM.
  bool Ensure(PageId first, size_t n);

  // The entry of a hugepage that Ensure covered (traps otherwise: a heap bug).
  HugePageEntry& At(HugePageId h) {
    Leaf* leaf = (h >> kHugeIdBits) == 0 ? root_[h >> kLeafBits] : nullptr;
    if (leaf == nullptr) __builtin_trap();
    return leaf->entry[h & (kLeafLength - 1)];
  }

 private:
  struct Leaf {
    HugePageEntry entry[kLeafLength];
  };
  Leaf* root_[size_t{1} << kRootBits];
};

}  // namespace rseqmalloc

#endif  // RSEQMALLOC_ALLOCATOR_HUGEPAGE_TABLE_H_

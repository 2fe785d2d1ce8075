#include "allocator/page_map.h"

#include "allocator/metadata_arena.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc {

RSEQMALLOC_CONSTINIT PageMap g_pagemap;

bool PageMap::Ensure(PageId first, size_t n) {
  if (n == 0) return true;
  const PageId limit = PageId{1} << kPageIdBits;
  if (first >= limit || n > limit - first) return false;
  const PageId last = first + n - 1;
  for (size_t i = first >> kLeafBits; i <= (last >> kLeafBits); ++i) {
    if (__atomic_load_n(&root_[i], __ATOMIC_ACQUIRE) != nullptr) continue;
    // The lock makes sure two threads do not both allocate a leaf for the same slot (the
    // loser's leaf could never be freed). The mmap under it only delays other leaf creators.
    SpinLockHolder h(&lock_);
    if (root_[i] != nullptr) continue;
    void* memory = MetadataAlloc(sizeof(Leaf), SystemPageSize());
    if (memory == nullptr) return false;
    // MetadataAlloc memory is zero: every page reads "no span, class 0".
    __atomic_store_n(&root_[i], static_cast<Leaf*>(memory), __ATOMIC_RELEASE);
    __atomic_store_n(&leaves_, leaves_ + 1, __ATOMIC_RELAXED);
  }
  return true;
}

void PageMap::SetRange(PageId first, size_t n, Span* s) {
  PageId p = first;
  const PageId end = first + n;
  while (p < end) {
    Leaf* leaf = LeafOrDie(p);
    // Stay within one leaf per inner loop so the leaf is looked up once per 2^18 pages.
    PageId leaf_end = (p | (kLeafLength - 1)) + 1;
    if (leaf_end > end) leaf_end = end;
    for (; p < leaf_end; ++p) {
      __atomic_store_n(&leaf->span[p & (kLeafLength - 1)], s, __ATOMIC_RELAXED);
    }
  }
}

void PageMap::SetSizeClass(PageId first, size_t n, uint8_t cl) {
  PageId p = first;
  const PageId end = first + n;
  while (p < end) {
    Leaf* leaf = LeafOrDie(p);
    PageId leaf_end = (p | (kLeafLength - 1)) + 1;
    if (leaf_end > end) leaf_end = end;
    for (; p < leaf_end; ++p) {
      __atomic_store_n(&leaf->size_class[p & (kLeafLength - 1)], cl, __ATOMIC_RELAXED);
    }
  }
}

}  // namespace rseqmalloc

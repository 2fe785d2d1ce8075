#include "allocator/page_map.h"

#include "allocator/metadata_arena.h"
#include "allocator/system_allocator.h"

namespace rseqmalloc {

RSEQMALLOC_CONSTINIT PageMap g_pagemap;

const uint8_t* PageMap::ClassMap() {
  uint8_t* classes = __atomic_load_n(&classes_, __ATOMIC_ACQUIRE);
  if (classes != nullptr) return classes;
  SpinLockHolder h(&lock_);
  if (classes_ == nullptr) {
    void* memory = SystemAlloc(size_t{1} << kPageIdBits, SystemPageSize());
    if (memory == nullptr) return nullptr;
    __atomic_store_n(&classes_, static_cast<uint8_t*>(memory), __ATOMIC_RELEASE);
  }
  return classes_;
}

bool PageMap::Ensure(PageId first, size_t n) {
  if (n == 0) return true;
  const PageId limit = PageId{1} << kPageIdBits;
  if (first >= limit || n > limit - first) return false;
  if (ClassMap() == nullptr) return false;
  const PageId last = first + n - 1;
  for (size_t i = first >> kLeafBits; i <= (last >> kLeafBits); ++i) {
    if (__atomic_load_n(&root_[i], __ATOMIC_ACQUIRE) != nullptr) continue;
    // The lock makes sure two threads do not both allocate a leaf for the same slot (the
    // loser's leaf could never be freed). The mmap under it only delays other leaf creators.
    SpinLockHolder h(&lock_);
    if (root_[i] != nullptr) continue;
    void* memory = MetadataAlloc(sizeof(Leaf), SystemPageSize());
    if (memory == nullptr) return false;
    // MetadataAlloc memory is zero: every page reads "no span".
    __atomic_store_n(&root_[i], static_cast<Leaf*>(memory), __ATOMIC_RELEASE);
    __atomic_store_n(&leaves_, leaves_ + 1, __ATOMIC_RELAXED);
  }
  return true;
}

namespace {

// Calls store(leaf, index) for every page of [first, first + n), looking each leaf up once per
// 2^18 pages rather than once per page.
template <typename LeafOf, typename Store>
void ForEachPage(PageId first, size_t n, size_t leaf_length, LeafOf leaf_of, Store store) {
  PageId p = first;
  const PageId end = first + n;
  while (p < end) {
    auto* leaf = leaf_of(p);
    PageId leaf_end = (p | (leaf_length - 1)) + 1;
    if (leaf_end > end) leaf_end = end;
    for (; p < leaf_end; ++p) store(leaf, p & (leaf_length - 1));
  }
}

}  // namespace

void PageMap::SetRange(PageId first, size_t n, Span* s) {
  ForEachPage(first, n, kLeafLength, [this](PageId p) { return LeafOrDie(p); },
              [s](Leaf* leaf, size_t i) { __atomic_store_n(&leaf->span[i], s, __ATOMIC_RELAXED); });
}

void PageMap::SetSizeClass(PageId first, size_t n, uint8_t cl) {
  // Ensure reserved the class array before any span existed.
  uint8_t* classes = __atomic_load_n(&classes_, __ATOMIC_ACQUIRE);
  if (classes == nullptr || first + n > (PageId{1} << kPageIdBits)) __builtin_trap();
  for (PageId p = first; p < first + n; ++p) __atomic_store_n(&classes[p], cl, __ATOMIC_RELAXED);
}

}  // namespace rseqmalloc

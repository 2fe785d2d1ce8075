#include "allocator/hugepage_table.h"

#include "allocator/metadata_arena.h"

namespace rseqmalloc {

bool HugePageTable::Ensure(PageId first, size_t n) {
  if (n == 0) return true;
  const HugePageId lo = HugePageOfPage(first);
  const HugePageId hi = HugePageOfPage(first + n - 1);
  if ((hi >> kHugeIdBits) != 0) return false;
  for (size_t i = lo >> kLeafBits; i <= (hi >> kLeafBits); ++i) {
    // Two threads growing the heap at once may both find the slot empty: the compare-and-swap
    // keeps one leaf, and the loser's 16 KiB of metadata stays allocated (metadata is never
    // freed). That takes two growths into the same 8 GiB of address space at the same moment.
    if (__atomic_load_n(&root_[i], __ATOMIC_ACQUIRE) != nullptr) continue;
    void* memory = MetadataAlloc(sizeof(Leaf), alignof(Leaf));
    if (memory == nullptr) return false;
    Leaf* expected = nullptr;
    __atomic_compare_exchange_n(&root_[i], &expected, static_cast<Leaf*>(memory), false,
                                __ATOMIC_RELEASE, __ATOMIC_ACQUIRE);
  }
  return true;
}

}  // namespace rseqmalloc

// The allocator's big globals must start all zero, so that the linker puts them in .bss: there
// only the pages the allocator writes become resident. In .data (one member with a non-zero
// initialiser is enough) reading them made the kernel map neighbouring file pages too, and
// g_page_heap (260 KiB with its hugepage table's root) and g_transfer_caches (56 KiB) cost every
// program 130-200 KiB of resident memory before it allocated anything.
#include <stdint.h>

#include "allocator/page_heap.h"
#include "allocator/page_map.h"
#include "allocator/transfer_cache.h"
#include "gtest/gtest.h"

// Linker-defined bounds of this (statically linked) program's .bss.
extern "C" char __bss_start[];
extern "C" char _end[];

namespace rseqmalloc {
namespace {

template <typename T>
::testing::AssertionResult InBss(const T& object, const char* name) {
  const auto begin = reinterpret_cast<uintptr_t>(&object);
  const auto end = begin + sizeof(T);
  const auto bss_begin = reinterpret_cast<uintptr_t>(__bss_start);
  const auto bss_end = reinterpret_cast<uintptr_t>(_end);
  if (begin >= bss_begin && end <= bss_end) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << name << " (" << sizeof(T) << " bytes) is not in .bss: a member has a non-zero "
         << "initialiser";
}

TEST(ZeroInitialisedGlobals, TheBigOnesLiveInBss) {
  EXPECT_TRUE(InBss(g_page_heap, "g_page_heap"));
  EXPECT_TRUE(InBss(g_transfer_caches, "g_transfer_caches"));
  EXPECT_TRUE(InBss(g_pagemap, "g_pagemap"));
}

// The defaults the zero members stand for.
TEST(ZeroInitialisedGlobals, TheProcessHeapUsesTheProcessPagemap) {
  EXPECT_EQ(g_page_heap.pagemap(), &g_pagemap);
}

}  // namespace
}  // namespace rseqmalloc

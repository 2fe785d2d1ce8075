// The page heap must never enter the kernel while holding its lock (a time-slice extension
// covers that section, and a syscall would void it). This test interposes mmap, munmap and
// madvise and, in a single thread, flags any call made while the heap's lock is held: in one
// thread, a held lock can only be our own.
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "allocator/page_heap.h"
#include "allocator/page_map.h"
#include "gtest/gtest.h"

namespace {

std::atomic<rseqmalloc::PageHeap*> g_watched{nullptr};
std::atomic<int> g_calls{0};
std::atomic<int> g_calls_under_lock{0};

void Check() {
  rseqmalloc::PageHeap* heap = g_watched.load();
  if (heap == nullptr) return;
  g_calls++;
  if (heap->lock().IsHeld()) g_calls_under_lock++;
}

}  // namespace

extern "C" {

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  Check();
  return reinterpret_cast<void*>(syscall(SYS_mmap, addr, length, prot, flags, fd, offset));
}

int munmap(void* addr, size_t length) {
  Check();
  return static_cast<int>(syscall(SYS_munmap, addr, length));
}

int madvise(void* addr, size_t length, int advice) {
  Check();
  return static_cast<int>(syscall(SYS_madvise, addr, length, advice));
}

}  // extern "C"

namespace rseqmalloc {
namespace {

TEST(PageHeapSyscallTest, NoSyscallWhileHoldingTheLock) {
  PageHeap* heap = new PageHeap(new PageMap());
  g_watched = heap;
  std::vector<Span*> live;
  // Growth (several regions, one bigger than the minimum), splits, aligned growth, merges,
  // full and partial releases, reuse of returned runs: every path that could reach the kernel.
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < 300; ++i) {
      Span* s = (i % 7 == 0) ? heap->NewAligned(1 + i % 5, size_t{1} << (i % 9))
                             : heap->New(1 + (i * 37) % 700);
      ASSERT_NE(s, nullptr);
      memset(s->start(), 1, kPageSize);
      live.push_back(s);
    }
    Span* big = heap->New(PagesFor(size_t{150} << 20));
    ASSERT_NE(big, nullptr);
    Span* huge_aligned = heap->NewAligned(4, PageHeap::kMaxAlignPages);
    ASSERT_NE(huge_aligned, nullptr);
    heap->Delete(big);
    heap->Delete(huge_aligned);
    for (size_t i = 0; i < live.size(); i += 2) heap->Delete(live[i]);
    heap->ReleaseFree(size_t{5} << 20);
    for (size_t i = 1; i < live.size(); i += 2) heap->Delete(live[i]);
    live.clear();
    heap->ReleaseFree(0);
  }
  g_watched = nullptr;
  EXPECT_GT(g_calls.load(), 10) << "the interposition saw the heap's system calls";
  EXPECT_EQ(g_calls_under_lock.load(), 0);
}

}  // namespace
}  // namespace rseqmalloc

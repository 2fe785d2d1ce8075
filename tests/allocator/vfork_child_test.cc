// A vfork() child allocates (allocator/vfork_override.cc, percpu/rseq_suspension.h).
//
// The child runs on the parent thread's memory, rseq area included, but the kernel gives it no
// registration. Before the override, its malloc ran the parent's critical sections on the slot of
// the parent's last CPU, unprotected, and popped the parent's cached objects. Now the child must
// find the area unregistered (cpu_id < 0) and leave the parent thread's caches alone, and the
// parent must get its registration and its caches back. Gtest is not used inside a child: the
// child reports through memory it shares with the parent.
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "percpu/rseq_registration.h"
#include "tests/common/deadline.h"
#include "tests/percpu/test_mode.h"

namespace {

using rseqmalloc::percpu::ThreadRseqCpuId;

struct ChildReport {
  int cpu_id;
  void* first;      // the child's first malloc(48)
  int corrupted;    // objects whose contents changed under the child
  int done;
};

int WaitFor(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The child's work: a first malloc(48) reported as is, then a churn of sizes whose contents it
// checks, all freed again.
void ChildAllocates(volatile ChildReport* report) {
  report->cpu_id = ThreadRseqCpuId();
  void* first = malloc(48);
  report->first = first;
  void* blocks[64];
  for (int i = 0; i < 64; ++i) {
    const size_t size = 16 + (static_cast<size_t>(i) * 72) % 2000;
    blocks[i] = malloc(size);
    memset(blocks[i], i + 1, size);
  }
  int corrupted = 0;
  for (int i = 0; i < 64; ++i) {
    const unsigned char* bytes = static_cast<const unsigned char*>(blocks[i]);
    if (bytes[0] != i + 1) ++corrupted;
    free(blocks[i]);
  }
  free(first);
  report->corrupted = corrupted;
  report->done = 1;
}

TEST(VforkChild, FindsTheAreaUnregisteredAndLeavesTheParentsCachesAlone) {
  rseqmalloc::test::ArmDeadlineWithStacks(120);
  free(malloc(1));
  ASSERT_GE(rseqmalloc::percpu::testing::PinToOneCpu(), 0);
  const bool registered = ThreadRseqCpuId() >= 0;
  // The top of this CPU's (or this thread's) stack of 48-byte objects: a hit hands it back.
  void* top = malloc(48);
  free(top);
  void* again = malloc(48);
  free(again);
  if (again != top) GTEST_SKIP() << "a freed object did not come back from the cache (sampling?)";

  volatile ChildReport report = {0, nullptr, 0, 0};
  pid_t pid = vfork();
  if (pid == 0) {
    ChildAllocates(&report);
    _exit(0);
  }
  ASSERT_GT(pid, 0) << strerror(errno);
  EXPECT_EQ(WaitFor(pid), 0);
  ASSERT_EQ(report.done, 1);
  EXPECT_EQ(report.corrupted, 0);
  if (registered) {
    EXPECT_LT(report.cpu_id, 0) << "the child ran on the parent's rseq registration";
  }
  EXPECT_NE(report.first, top) << "the child popped the parent thread's cached object";

  // The parent has its registration and its cache back: a free and a malloc meet again.
  if (registered) {
    EXPECT_GE(ThreadRseqCpuId(), 0) << "the parent's area stayed unregistered";
  }
  void* p = malloc(48);
  free(p);
  void* q = malloc(48);
  free(q);
  EXPECT_EQ(p, q) << "the parent thread no longer caches";
  rseqmalloc::percpu::testing::UnpinFromCpu();
  rseqmalloc::test::DisarmDeadline();
}

TEST(VforkChild, NestedVforkRestoresOnlyAtTheOutermostParent) {
  rseqmalloc::test::ArmDeadlineWithStacks(120);
  free(malloc(1));
  const bool registered = ThreadRseqCpuId() >= 0;
  volatile ChildReport inner = {0, nullptr, 0, 0};
  volatile int outer_cpu_id_after_inner = 0;
  volatile int inner_status = -1;
  pid_t pid = vfork();
  if (pid == 0) {
    pid_t grandchild = vfork();
    if (grandchild == 0) {
      ChildAllocates(&inner);
      _exit(0);
    }
    inner_status = grandchild > 0 ? WaitFor(grandchild) : -2;
    // Still inside the outer child: its area must stay unregistered.
    outer_cpu_id_after_inner = ThreadRseqCpuId();
    _exit(0);
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(WaitFor(pid), 0);
  EXPECT_EQ(inner_status, 0);
  EXPECT_EQ(inner.done, 1);
  EXPECT_EQ(inner.corrupted, 0);
  if (registered) {
    EXPECT_LT(inner.cpu_id, 0);
    EXPECT_LT(outer_cpu_id_after_inner, 0) << "the inner vfork re-registered inside the outer child";
    EXPECT_GE(ThreadRseqCpuId(), 0);
  }
  rseqmalloc::test::DisarmDeadline();
}

// Children that allocate while other threads of the process allocate on every CPU: every object
// keeps its owner's tag, and nobody gets an object twice (a duplicate shows as a changed tag).
TEST(VforkChild, ChildrenAllocateWhileOtherThreadsDo) {
  rseqmalloc::test::ArmDeadlineWithStacks(240);
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  auto work = [&](uintptr_t tag) {
    std::vector<uintptr_t*> held(128, nullptr);
    for (unsigned round = 0; !stop.load(std::memory_order_relaxed); ++round) {
      for (size_t i = 0; i < held.size(); ++i) {
        held[i] = static_cast<uintptr_t*>(malloc(16 + (i % 8) * 16));
        held[i][0] = tag ^ i;
      }
      for (size_t i = 0; i < held.size(); ++i) {
        if (held[i][0] != (tag ^ i)) bad.fetch_add(1);
        free(held[i]);
      }
    }
  };
  std::vector<std::thread> threads;
  for (uintptr_t t = 0; t < 2; ++t) threads.emplace_back(work, (t + 1) << 40);
  int failed_children = 0;
  for (int i = 0; i < 300; ++i) {
    volatile ChildReport report = {0, nullptr, 0, 0};
    pid_t pid = vfork();
    if (pid == 0) {
      ChildAllocates(&report);
      _exit(report.corrupted == 0 ? 0 : 1);
    }
    if (pid < 0 || WaitFor(pid) != 0 || report.done != 1) ++failed_children;
  }
  stop.store(true);
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed_children, 0);
  EXPECT_EQ(bad.load(), 0);
  rseqmalloc::test::DisarmDeadline();
}

}  // namespace

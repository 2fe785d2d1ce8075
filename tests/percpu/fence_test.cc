// The fence's affinity fallback (used where membarrier cannot be), against a made-up kernel: one
// with more CPUs than glibc's fixed cpu_set_t holds (sched_getaffinity refuses small buffers with
// EINVAL), and ones that refuse. The fence must visit every CPU of a big machine, must say so when
// it could not run, and a slot whose fence failed must not be worked on.
#include "percpu/fence.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include <vector>

#include "gtest/gtest.h"
#include "percpu/cpu_mask.h"
#include "percpu/per_cpu_slab.h"
#include "tests/percpu/test_mode.h"

namespace rseqmalloc {
namespace percpu {
namespace {

// The made-up kernel. Its CPUs below this machine's count are the real ones (a set is passed on to
// the real kernel, so the thread really moves); CPUs above exist but can never be entered, as
// offline CPUs or CPUs of another cpuset.
struct FakeKernel {
  uint32_t cpus = 0;
  bool get_fails = false;   // sched_getaffinity says EPERM
  bool set_fails = false;   // every sched_setaffinity says EINVAL
  size_t largest_get_size = 0;
  std::vector<uint32_t> single_cpu_requests;  // the CPU of every one-CPU mask asked for
};
FakeKernel g_kernel;
cpu_set_t g_real_mask;  // this thread's affinity before each test

int FakeGet(pid_t, size_t size, cpu_set_t* set) {
  if (size > g_kernel.largest_get_size) g_kernel.largest_get_size = size;
  if (g_kernel.get_fails) {
    errno = EPERM;
    return -1;
  }
  if (size * 8 < g_kernel.cpus) {
    errno = EINVAL;
    return -1;
  }
  cpu_set_t real;
  if (sched_getaffinity(0, sizeof(real), &real) != 0) return -1;
  memset(set, 0, size);
  for (uint32_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &real)) CPU_SET_S(cpu, size, set);
  }
  return 0;
}

int FakeSet(pid_t, size_t size, const cpu_set_t* set) {
  const uint32_t bits = static_cast<uint32_t>(size * 8);
  if (CPU_COUNT_S(size, set) == 1) {
    for (uint32_t cpu = 0; cpu < bits; ++cpu) {
      if (CPU_ISSET_S(cpu, size, set)) g_kernel.single_cpu_requests.push_back(cpu);
    }
  }
  cpu_set_t real;
  CPU_ZERO(&real);
  for (uint32_t cpu = 0; cpu < CPU_SETSIZE && cpu < bits; ++cpu) {
    if (CPU_ISSET_S(cpu, size, set)) CPU_SET(cpu, &real);
  }
  if (g_kernel.set_fails || CPU_COUNT(&real) == 0) {
    errno = EINVAL;
    return -1;
  }
  return sched_setaffinity(0, sizeof(real), &real);
}

constexpr AffinitySyscalls kFakeSyscalls = {FakeGet, FakeSet};

class AffinityFenceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::InitFromEnvironment(); }
  void SetUp() override {
    ASSERT_EQ(sched_getaffinity(0, sizeof(g_real_mask), &g_real_mask), 0);
    g_kernel = FakeKernel();
    g_kernel.cpus = 64;
    SetAffinitySyscallsForTesting(&kFakeSyscalls);
    ForceAffinityFenceForTesting(true);
  }
  void TearDown() override {
    SetAffinitySyscallsForTesting(nullptr);
    ForceAffinityFenceForTesting(false);
    const RseqStatus& status = CurrentRseqStatus();
    if (CurrentFenceMethod() != FenceMethod::kNone) {
      internal::FenceProcessInit(status.key == SlotKey::kCpuId, status.slots);
    }
    sched_setaffinity(0, sizeof(g_real_mask), &g_real_mask);
  }
  static bool AffinityUnchanged() {
    cpu_set_t now;
    return sched_getaffinity(0, sizeof(now), &now) == 0 && CPU_EQUAL(&now, &g_real_mask);
  }
  bool Fenceable() const { return CurrentFenceMethod() != FenceMethod::kNone; }
};

TEST_F(AffinityFenceTest, MaskGrowsUntilTheKernelTakesIt) {
  g_kernel.cpus = 8192;
  CpuMask mask;
  ASSERT_TRUE(mask.ReadCurrentThread(0));
  EXPECT_GE(mask.capacity_cpus(), 8192u);
  EXPECT_GE(g_kernel.largest_get_size * 8, 8192u);
  for (uint32_t cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    EXPECT_EQ(mask.Contains(cpu), CPU_ISSET(cpu, &g_real_mask) != 0) << cpu;
  }
  EXPECT_FALSE(mask.Contains(8191));
  ASSERT_TRUE(mask.SetOnly(5000));
  EXPECT_TRUE(mask.Contains(5000));
  EXPECT_FALSE(mask.Contains(0));
}

TEST_F(AffinityFenceTest, VisitsEveryCpuOfAMachineBiggerThanCpuSetT) {
  if (!Fenceable()) GTEST_SKIP() << "rseq is unavailable in this mode: nothing is ever fenced";
  g_kernel.cpus = 4096;
  internal::FenceProcessInit(true, 4096);  // as on a machine with 4096 possible CPUs
  ASSERT_TRUE(FenceSlot(3000));
  // Every possible CPU was tried once, 1024 and above included, and the fence still completed.
  std::vector<uint32_t> tried = g_kernel.single_cpu_requests;
  ASSERT_GE(tried.size(), 4096u);
  std::vector<int> seen(4096, 0);
  for (uint32_t cpu : tried) {
    ASSERT_LT(cpu, 4096u);
    ++seen[cpu];
  }
  for (uint32_t cpu = 0; cpu < 4096; ++cpu) EXPECT_GE(seen[cpu], 1) << "CPU " << cpu;
  EXPECT_TRUE(AffinityUnchanged()) << "the fence did not restore the thread's affinity";
}

TEST_F(AffinityFenceTest, SaysSoWhenItsOwnMaskCannotBeRead) {
  if (!Fenceable()) GTEST_SKIP() << "rseq is unavailable in this mode: nothing is ever fenced";
  g_kernel.get_fails = true;
  EXPECT_FALSE(FenceSlot(0));
}

TEST_F(AffinityFenceTest, SaysSoWhenNoCpuCanBeEntered) {
  if (!Fenceable()) GTEST_SKIP() << "rseq is unavailable in this mode: nothing is ever fenced";
  g_kernel.set_fails = true;
  EXPECT_FALSE(FenceSlot(0));
  EXPECT_GE(g_kernel.single_cpu_requests.size(), 1u);
  EXPECT_TRUE(AffinityUnchanged());
}

constexpr uint16_t kMaxCapacity[2] = {16, 16};
PerCpuSlab g_slab;

void* Item(uintptr_t i) { return reinterpret_cast<void*>((i + 1) * 16); }

struct Drained {
  size_t calls = 0, items = 0;
};
void Count(void* arg, size_t, void**, size_t n) {
  auto* drained = static_cast<Drained*>(arg);
  ++drained->calls;
  drained->items += n;
}

TEST_F(AffinityFenceTest, SlotWhoseFenceFailedIsLeftAloneAndUsable) {
  if (!Fenceable()) GTEST_SKIP() << "rseq is unavailable in this mode: nothing is ever fenced";
  ASSERT_TRUE(g_slab.Init(2, kMaxCapacity));
  ASSERT_GE(testing::PinToOneCpu(), 0);
  const int slot = g_slab.CurrentSlot();
  ASSERT_GE(slot, 0);
  ASSERT_EQ(g_slab.Grow(0, 8), 8u);
  for (uintptr_t i = 0; i < 5; ++i) ASSERT_TRUE(g_slab.Push(0, Item(i)));

  g_kernel.get_fails = true;  // every fence fails from here
  Drained drained;
  g_slab.Drain(slot, Count, &drained);
  EXPECT_EQ(drained.calls, 0u) << "drained although the owner was never fenced";
  EXPECT_EQ(g_slab.Length(slot, 0), 5u);
  EXPECT_EQ(g_slab.Shrink(slot, 0, 3, Count, &drained), 0u);
  EXPECT_EQ(g_slab.Capacity(slot, 0), 8u);
  // The failed stop was undone: the owner's fast path works on the slot.
  EXPECT_EQ(g_slab.Pop(0), Item(4));
  EXPECT_TRUE(g_slab.Push(0, Item(4)));

  g_kernel.get_fails = false;  // now the fence completes, and the work is done
  g_slab.Drain(slot, Count, &drained);
  EXPECT_EQ(drained.items, 5u);
  EXPECT_EQ(g_slab.Length(slot, 0), 0u);
}

}  // namespace
}  // namespace percpu
}  // namespace rseqmalloc

// A fork() while another thread is setting up a slot (issue: the slot stayed "initialising" in
// the child for good, and the child's first slow path on it spun in sched_yield forever).
// A test seam holds a thread inside slot setup; the process forks at that moment; the child
// must be able to use the slot once PerCpuSlab::AfterForkInChild (what the allocator's atfork
// child handler calls) has run. The control test shows that without the repair the child hangs,
// i.e. that this test observes the defect.
#include <unistd.h>

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "percpu/per_cpu_slab.h"
#include "tests/percpu/test_mode.h"

namespace rseqmalloc {
namespace percpu {
namespace {

constexpr size_t kClasses = 3;
constexpr uint16_t kMaxCapacity[kClasses] = {0, 16, 16};

std::atomic<int> g_held_slot{-1};
std::atomic<bool> g_release{false};

// Runs in the thread that initialises a slot, in the "initialising" state.
void HoldInSetup(int slot) {
  g_held_slot.store(slot);
  while (!g_release.load()) sched_yield();
}

// Forks while a thread is held inside the setup of a fresh slot; in the child, optionally runs
// the repair, then drains the held slot (which waits for "initialising" to end) and checks it is
// initialised. Returns the child's exit code, or -1 if it did not finish within deadline_s.
int ForkDuringSlotSetup(PerCpuSlab* slab, bool repair, double deadline_s, int* held) {
  g_held_slot.store(-1);
  g_release.store(false);
  internal::g_slot_setup_hook = HoldInSetup;
  std::thread setter([slab] { slab->CurrentSlot(); });
  while (g_held_slot.load() < 0) sched_yield();
  *held = g_held_slot.load();
  pid_t pid = fork();
  if (pid == 0) {
    if (repair) slab->AfterForkInChild();
    slab->Drain(*held, [](void*, size_t, void**, size_t) {}, nullptr);
    _exit(slab->SlotInitialized(*held) ? 0 : 3);
  }
  const int code = pid < 0 ? -2 : testing::WaitChildWithDeadline(pid, deadline_s);
  g_release.store(true);
  setter.join();
  internal::g_slot_setup_hook = nullptr;
  return code;
}

class PerCpuSlabForkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::InitFromEnvironment()) GTEST_SKIP() << "rseq unusable in this mode: no slots";
  }
};

TEST_F(PerCpuSlabForkTest, ChildFinishesASlotSetupThatWasInFlightAtFork) {
  static PerCpuSlab slab;  // fresh: every slot uninitialised
  ASSERT_TRUE(slab.Init(kClasses, kMaxCapacity));
  int held = -1;
  // Wide margin for a loaded 2-core machine: the child's work takes milliseconds.
  EXPECT_EQ(ForkDuringSlotSetup(&slab, /*repair=*/true, 60.0, &held), 0) << "slot " << held;
  EXPECT_TRUE(slab.SlotInitialized(held));  // the parent's setter finished too
}

TEST_F(PerCpuSlabForkTest, ControlWithoutTheRepairTheChildHangs) {
  static PerCpuSlab slab;
  ASSERT_TRUE(slab.Init(kClasses, kMaxCapacity));
  int held = -1;
  EXPECT_EQ(ForkDuringSlotSetup(&slab, /*repair=*/false, 2.0, &held), -1)
      << "the child finished a slot setup nobody was running: the test no longer sees the hang";
}

}  // namespace
}  // namespace percpu
}  // namespace rseqmalloc

// The allocator's side of the fork-during-slot-setup repair (docs/rseq.md): a thread is held
// inside the setup of its per-CPU slot (through percpu's test seam) while the process forks;
// the child then allocates on that very slot. Before the repair the child's first slow path
// there waited forever for a setup nobody was running; the parent gives it a deadline.
//
// Observable only when the child's slot is the held one: with cpu_id keys the child pins itself
// to the held thread's CPU. With mm_cid keys the child's single thread gets another id, and
// without rseq there are no slots: the test skips, saying why (the percpu-level
// per_cpu_slab_fork_test covers every mode).
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "percpu/per_cpu_slab.h"
#include "percpu/rseq_registration.h"
#include "tests/percpu/test_mode.h"

namespace {

constexpr int kNotObservable = 77;
constexpr const char* kPinnedEnv = "FORK_SLOT_SETUP_SECOND_CPU";

std::atomic<int> g_held_slot{-1};
std::atomic<bool> g_release{false};

void HoldInSetup(int slot) {
  g_held_slot.store(slot);
  while (!g_release.load()) sched_yield();
}

bool PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

double Seconds() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
}

void Churn() {
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i) blocks.push_back(malloc(16 + (i * 40) % 4000));
  for (void* b : blocks) free(b);
}

TEST(ForkDuringSlotSetup, ChildAllocatesOnTheSlotThatWasBeingSetUp) {
  using rseqmalloc::percpu::ThreadRseqArea;
  namespace internal = rseqmalloc::percpu::internal;
  free(malloc(1));  // the allocator is initialised
  if (!internal::g_rseq_usable) GTEST_SKIP() << "rseq unusable in this mode: no slots";
  if (rseqmalloc::percpu::CurrentRseqStatus().key != rseqmalloc::percpu::SlotKey::kCpuId) {
    GTEST_SKIP() << "observable with cpu_id keys only: a forked child's mm_cid is not the held one";
  }
  const char* second = getenv(kPinnedEnv);
  if (second == nullptr || atoi(second) < 0) GTEST_SKIP() << "needs two CPUs";
  const int cpu = atoi(second);

  g_release.store(false);
  internal::g_slot_setup_hook = HoldInSetup;
  // This process ran on one CPU only so far, so the slot of the second CPU (or the second
  // mm_cid) is fresh: the thread's first slow path sets it up and stops in the hook.
  std::thread setter([cpu] {
    if (PinTo(cpu)) Churn();
  });
  const double give_up = Seconds() + 30;
  while (g_held_slot.load() < 0 && Seconds() < give_up) usleep(1000);
  const int held = g_held_slot.load();
  int code = kNotObservable;
  if (held >= 0) {
    pid_t pid = fork();
    if (pid == 0) {
      internal::g_slot_setup_hook = nullptr;  // slots this child sets up need no holding
      PinTo(cpu);
      sched_yield();
      const uint32_t key = *reinterpret_cast<volatile uint32_t*>(
          ThreadRseqArea() + internal::g_slot_key_offset);
      if (static_cast<int>(key) != held) _exit(kNotObservable);
      Churn();  // slow paths on the held slot
      _exit(0);
    }
    code = pid < 0 ? -2 : rseqmalloc::percpu::testing::WaitChildWithDeadline(pid, 25.0);  // the child needs milliseconds
  }
  g_release.store(true);
  setter.join();
  internal::g_slot_setup_hook = nullptr;
  if (held < 0) GTEST_SKIP() << "the second CPU's slot was already set up";
  if (code == kNotObservable) GTEST_SKIP() << "the child did not run on the held slot";
  EXPECT_EQ(code, 0) << "-1: the child hung on slot " << held;
}

}  // namespace

int main(int argc, char** argv) {
  // Start again confined to the first allowed CPU, so that nothing (loader, gtest, the
  // allocator's start-up) touches the slot the test needs fresh; remember a second CPU.
  if (getenv(kPinnedEnv) == nullptr) {
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    int first = -1, second = -1;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
      for (int c = 0; c < CPU_SETSIZE && second < 0; ++c) {
        if (!CPU_ISSET(c, &allowed)) continue;
        (first < 0 ? first : second) = c;
      }
    }
    char value[16];
    snprintf(value, sizeof(value), "%d", second);
    setenv(kPinnedEnv, value, 1);
    if (first >= 0 && second >= 0 && PinTo(first)) {
      execv("/proc/self/exe", argv);
      perror("execv");
      return 2;
    }
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

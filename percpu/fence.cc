#include "percpu/fence.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "arch/rseq_abi.h"
#include "percpu/cpu_mask.h"

namespace rseqmalloc {
namespace percpu {
namespace {

std::atomic<FenceMethod> g_method{FenceMethod::kNone};
std::atomic<bool> g_force_affinity{false};
bool g_slots_are_cpus = false;
uint32_t g_num_cpus = CPU_SETSIZE;  // possible CPUs: the fallback visits all of them

long Membarrier(int cmd, unsigned flags, int cpu) {
  return syscall(arch::kSysMembarrier, cmd, flags, cpu);
}

// Running on a CPU means whatever thread of ours was there has been switched out, and a switch
// both aborts an interrupted critical section (on its return to user space) and orders memory.
// Visiting every CPU therefore fences them all. We try every possible CPU, not only those in our
// own affinity mask: the caller may be pinned while the slot's owner runs elsewhere. CPUs the
// kernel will not let us onto (other cpusets, offline) are skipped; threads of ours confined to
// such CPUs would be missed, which is why this is only the fallback. The masks are sized to the
// machine (a fixed cpu_set_t fails beyond 1024 CPUs, and then nothing would be visited).
// False when it could not run at all: our own mask unreadable, no memory, or no CPU entered.
bool AffinityFence() {
  CpuMask saved, one;
  if (!saved.ReadCurrentThread(g_num_cpus)) return false;
  uint32_t visited = 0;
  for (uint32_t cpu = 0; cpu < g_num_cpus; ++cpu) {
    if (!one.SetOnly(cpu)) break;
    if (one.ApplyToCurrentThread()) {
      // sched_setaffinity migrates us before returning when the current CPU is not allowed;
      // yield once more so a thread of ours running there is switched out at least once.
      sched_yield();
      ++visited;
    }
  }
  saved.ApplyToCurrentThread();
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return visited != 0;
}

}  // namespace

namespace internal {
void FenceProcessInit(bool slots_are_cpus, uint32_t num_cpus) {
  g_slots_are_cpus = slots_are_cpus;
  g_num_cpus = num_cpus == 0 ? CPU_SETSIZE : num_cpus;
  int saved_errno = errno;
  FenceMethod method = FenceMethod::kAffinity;
  long mask = Membarrier(arch::kMembarrierCmdQuery, 0, 0);
  if (mask > 0 && (mask & arch::kMembarrierCmdPrivateExpeditedRseq) &&
      Membarrier(arch::kMembarrierCmdRegisterPrivateExpeditedRseq, 0, 0) == 0) {
    method = FenceMethod::kMembarrier;
  }
  errno = saved_errno;
  g_method.store(method, std::memory_order_release);
}
}  // namespace internal

bool FenceSlot(int slot) {
  FenceMethod method = g_method.load(std::memory_order_acquire);
  if (method == FenceMethod::kNone) return true;  // no critical section can run: nothing to do
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (method == FenceMethod::kMembarrier && !g_force_affinity.load(std::memory_order_relaxed)) {
    int saved_errno = errno;
    long rc = g_slots_are_cpus
                  ? Membarrier(arch::kMembarrierCmdPrivateExpeditedRseq,
                               arch::kMembarrierCmdFlagCpu, slot)
                  : Membarrier(arch::kMembarrierCmdPrivateExpeditedRseq, 0, 0);
    // A CPU that is possible but offline makes the targeted form fail; fence everyone then.
    if (rc != 0 && g_slots_are_cpus) {
      rc = Membarrier(arch::kMembarrierCmdPrivateExpeditedRseq, 0, 0);
    }
    errno = saved_errno;
    if (rc == 0) return true;
  }
  return AffinityFence();
}

FenceMethod CurrentFenceMethod() { return g_method.load(std::memory_order_acquire); }

void ForceAffinityFenceForTesting(bool force) {
  g_force_affinity.store(force, std::memory_order_relaxed);
}

}  // namespace percpu
}  // namespace rseqmalloc

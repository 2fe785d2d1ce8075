#include "percpu/fence.h"

#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

#include "arch/rseq_abi.h"

namespace rseqmalloc {
namespace percpu {
namespace {

std::atomic<FenceMethod> g_method{FenceMethod::kNone};
std::atomic<bool> g_force_affinity{false};
bool g_slots_are_cpus = false;
uint32_t g_num_cpus = CPU_SETSIZE;

long Membarrier(int cmd, unsigned flags, int cpu) {
  return syscall(arch::kSysMembarrier, cmd, flags, cpu);
}

// Running on a CPU means whatever thread of ours was there has been switched out, and a switch
// both aborts an interrupted critical section (on its return to user space) and orders memory.
// Visiting every CPU therefore fences them all. We try every possible CPU, not only those in our
// own affinity mask: the caller may be pinned while the slot's owner runs elsewhere. CPUs the
// kernel will not let us onto (other cpusets, offline) are skipped; threads of ours confined to
// such CPUs would be missed, which is why this is only the fallback.
void AffinityFence() {
  cpu_set_t saved;
  CPU_ZERO(&saved);
  if (sched_getaffinity(0, sizeof(saved), &saved) != 0) return;
  uint32_t limit = g_num_cpus < CPU_SETSIZE ? g_num_cpus : CPU_SETSIZE;
  for (uint32_t cpu = 0; cpu < limit; ++cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) == 0) {
      // sched_setaffinity migrates us before returning when the current CPU is not allowed;
      // yield once more so a thread of ours running there is switched out at least once.
      sched_yield();
    }
  }
  sched_setaffinity(0, sizeof(saved), &saved);
  std::atomic_thread_fence(std::memory_order_seq_cst);
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

void FenceSlot(int slot) {
  FenceMethod method = g_method.load(std::memory_order_acquire);
  if (method == FenceMethod::kNone) return;
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
    if (rc == 0) return;
  }
  AffinityFence();
}

FenceMethod CurrentFenceMethod() { return g_method.load(std::memory_order_acquire); }

void ForceAffinityFenceForTesting(bool force) {
  g_force_affinity.store(force, std::memory_order_relaxed);
}

}  // namespace percpu
}  // namespace rseqmalloc

#include "percpu/cpu_mask.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <atomic>

namespace rseqmalloc {
namespace percpu {
namespace {

int RealGet(pid_t pid, size_t size, cpu_set_t* set) { return sched_getaffinity(pid, size, set); }
int RealSet(pid_t pid, size_t size, const cpu_set_t* set) {
  return sched_setaffinity(pid, size, set);
}

constexpr AffinitySyscalls kRealSyscalls = {RealGet, RealSet};
std::atomic<const AffinitySyscalls*> g_syscalls{&kRealSyscalls};

constexpr size_t kPageSize = 4096;

size_t MappedSize(size_t bytes) { return (bytes + kPageSize - 1) & ~(kPageSize - 1); }

}  // namespace

CpuMask::~CpuMask() {
  if (set_ != nullptr) munmap(set_, MappedSize(bytes_));
}

bool CpuMask::Reserve(uint32_t cpus) {
  if (cpus == 0 || cpus > kMaxCpus) return false;
  const size_t bytes = CPU_ALLOC_SIZE(cpus);
  if (set_ == nullptr || MappedSize(bytes) != MappedSize(bytes_)) {
    void* fresh = mmap(nullptr, MappedSize(bytes), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (fresh == MAP_FAILED) return false;
    if (set_ != nullptr) munmap(set_, MappedSize(bytes_));
    set_ = static_cast<cpu_set_t*>(fresh);
  }
  bytes_ = bytes;
  memset(set_, 0, bytes_);
  return true;
}

bool CpuMask::ReadCurrentThread(uint32_t min_cpus) {
  uint32_t cpus = min_cpus > CPU_SETSIZE ? min_cpus : CPU_SETSIZE;
  const int saved_errno = errno;
  bool ok = false;
  while (!ok && Reserve(cpus)) {
    ok = g_syscalls.load(std::memory_order_acquire)->get(0, bytes_, set_) == 0;
    // EINVAL: the kernel has more CPUs than the buffer has bits. Any other error is final.
    if (!ok && (errno != EINVAL || cpus >= kMaxCpus)) break;
    cpus = cpus * 2 < kMaxCpus ? cpus * 2 : kMaxCpus;
  }
  errno = saved_errno;
  return ok;
}

bool CpuMask::SetOnly(uint32_t cpu) {
  if (cpu >= kMaxCpus) return false;
  if (cpu >= capacity_cpus()) {
    if (!Reserve(cpu + 1)) return false;
  } else {
    memset(set_, 0, bytes_);
  }
  CPU_SET_S(cpu, bytes_, set_);
  return true;
}

bool CpuMask::ApplyToCurrentThread() const {
  if (set_ == nullptr) return false;
  const int saved_errno = errno;
  const bool ok = g_syscalls.load(std::memory_order_acquire)->set(0, bytes_, set_) == 0;
  errno = saved_errno;
  return ok;
}

bool CpuMask::Contains(uint32_t cpu) const {
  return set_ != nullptr && cpu < capacity_cpus() && CPU_ISSET_S(cpu, bytes_, set_);
}

void SetAffinitySyscallsForTesting(const AffinitySyscalls* calls) {
  g_syscalls.store(calls != nullptr ? calls : &kRealSyscalls, std::memory_order_release);
}

}  // namespace percpu
}  // namespace rseqmalloc

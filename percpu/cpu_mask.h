// A CPU affinity mask as large as the kernel's. sched_getaffinity() fails with EINVAL when the
// buffer has fewer bits than the kernel's CPU count, so glibc's fixed cpu_set_t (1024 CPUs) fails
// on bigger machines; this mask grows until the kernel accepts it. Its memory comes from mmap,
// never malloc: it is used from inside the allocator.
#ifndef RSEQMALLOC_PERCPU_CPU_MASK_H_
#define RSEQMALLOC_PERCPU_CPU_MASK_H_

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

namespace rseqmalloc {
namespace percpu {

class CpuMask {
 public:
  // Beyond any kernel's NR_CPUS (the possible-CPU parser's bound too).
  static constexpr uint32_t kMaxCpus = 1u << 22;

  CpuMask() = default;
  ~CpuMask();
  CpuMask(const CpuMask&) = delete;
  CpuMask& operator=(const CpuMask&) = delete;

  // Reads the calling thread's affinity, with room for at least `min_cpus` CPUs, growing the
  // buffer while the kernel says it is too small. False if the kernel refuses anyway, or no memory.
  bool ReadCurrentThread(uint32_t min_cpus);
  // Makes the mask hold exactly `cpu` (growing it if needed). False if out of memory or range.
  bool SetOnly(uint32_t cpu);
  // Applies the mask to the calling thread. False if the kernel refuses (e.g. no allowed CPU).
  bool ApplyToCurrentThread() const;
  bool Contains(uint32_t cpu) const;
  // Highest CPU the mask has room for, plus one.
  uint32_t capacity_cpus() const { return static_cast<uint32_t>(bytes_ * 8); }

 private:
  bool Reserve(uint32_t cpus);  // clears the mask

  cpu_set_t* set_ = nullptr;
  size_t bytes_ = 0;
};

// Tests: replaces the two system calls the masks make (nullptr restores the real ones), so that a
// test can play a kernel with more CPUs than cpu_set_t holds, or one that refuses.
struct AffinitySyscalls {
  int (*get)(pid_t, size_t, cpu_set_t*);
  int (*set)(pid_t, size_t, const cpu_set_t*);
};
void SetAffinitySyscallsForTesting(const AffinitySyscalls* calls);

}  // namespace percpu
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_PERCPU_CPU_MASK_H_

#include "tests/kernel_vm/rseq_probes.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "tests/kernel_vm/guest_rseq_abi.h"
#include "tests/kernel_vm/kernel_owned_write.h"

// glibc 2.35+ exports these; weak so that the probe still links against a libc without them.
extern "C" {
extern const unsigned int __rseq_size __attribute__((weak));
extern const ptrdiff_t __rseq_offset __attribute__((weak));
}

namespace rseqmalloc {
namespace kernel_vm {
namespace {

// Over-sized and over-aligned so that any registration length the kernel could ask for fits.
struct alignas(256) OwnArea {
  RseqArea abi;
  char spare[256 - sizeof(RseqArea)];
};
thread_local OwnArea own_area;

long RawRseq(void* area, uint32_t len, int flags) {
  return syscall(__NR_rseq, area, len, flags, kRseqSignature);
}

// Negative errno on failure, the return value otherwise (for printing both the same way).
long ResultOf(long rc) { return rc < 0 ? -errno : rc; }

uint32_t RegistrationLength() {
  unsigned long feature = getauxval(kAtRseqFeatureSize);
  return static_cast<uint32_t>(std::max<unsigned long>(feature, 32));
}

bool PinTo(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + ts.tv_nsec;
}

// Threads that register their own area and report the mm_cid they see while all are alive, so
// that the CIDs are those of concurrently existing threads.
struct CidSample {
  std::atomic<int>* arrived;
  int threads;
  long register_result;
  uint32_t mm_cid;
  uint32_t cpu_id;
};

void* CidThread(void* arg) {
  auto* sample = static_cast<CidSample*>(arg);
  sample->register_result = ResultOf(RawRseq(&own_area.abi, RegistrationLength(), 0));
  sample->arrived->fetch_add(1);
  while (sample->arrived->load() < sample->threads) sched_yield();
  sched_yield();
  sample->mm_cid = own_area.abi.mm_cid;
  sample->cpu_id = own_area.abi.cpu_id;
  if (sample->register_result == 0) RawRseq(&own_area.abi, RegistrationLength(), kRseqFlagUnregister);
  return nullptr;
}

void ProbeMmCid() {
  constexpr int kThreads = 4;
  std::atomic<int> arrived{0};
  CidSample samples[kThreads];
  pthread_t tids[kThreads];
  for (int i = 0; i < kThreads; ++i) {
    samples[i] = CidSample{&arrived, kThreads, -1, 0, 0};
    pthread_create(&tids[i], nullptr, CidThread, &samples[i]);
  }
  uint32_t max_cid = 0;
  bool all_registered = true;
  for (int i = 0; i < kThreads; ++i) {
    pthread_join(tids[i], nullptr);
    all_registered &= samples[i].register_result == 0;
    max_cid = std::max(max_cid, samples[i].mm_cid);
  }
  printf("PROBE thread_registrations_ok=%d\n", all_registered ? 1 : 0);
  printf("PROBE mm_cid_max=%u\n", max_cid);
}

std::atomic<bool> competitor_stop{false};
constexpr int kSpinIterations = 1000;

void* Competitor(void*) {
  PinTo(0);
  volatile uint64_t sink = 0;
  while (!competitor_stop.load(std::memory_order_relaxed)) sink = sink + 1;
  return nullptr;
}

// Holds slice_ctrl.request set for most of the time while a competitor is runnable on the same
// CPU: when the tick wants to switch to the competitor, the kernel grants an extension instead.
// Counts grants seen, and what rseq_slice_yield() returned after each one.
void ProbeGrantLoop() {
  PinTo(0);
  pthread_t competitor;
  competitor_stop = false;
  pthread_create(&competitor, nullptr, Competitor, nullptr);
  RseqArea& abi = own_area.abi;
  uint64_t requests = 0, grants = 0, yields = 0, yields_one = 0;
  const uint64_t end = NowNs() + 3000000000ull;
  while (NowNs() < end && grants < 200) {
    abi.slice_request = 1;
    ++requests;
    asm volatile("" ::: "memory");
    // Some microseconds of work without any system call: a syscall inside a grant revokes it,
    // and under TCG clock_gettime is one (no usable vDSO clocksource), so the loop counts.
    for (volatile int i = 0; i < kSpinIterations; i = i + 1) {
    }
    asm volatile("" ::: "memory");
    abi.slice_request = 0;
    if (abi.slice_granted) {
      ++grants;
      ++yields;
      if (syscall(kSysRseqSliceYield) == 1) ++yields_one;
    }
  }
  competitor_stop = true;
  pthread_join(competitor, nullptr);
  printf("PROBE grant_requests=%llu\n", (unsigned long long)requests);
  printf("PROBE grants=%llu\n", (unsigned long long)grants);
  printf("PROBE yields=%llu\n", (unsigned long long)yields);
  printf("PROBE yields_returned_one=%llu\n", (unsigned long long)yields_one);
}

void PrintAux() {
  printf("PROBE at_feature_size=%lu\n", getauxval(kAtRseqFeatureSize));
  printf("PROBE at_align=%lu\n", getauxval(kAtRseqAlign));
  printf("PROBE glibc_rseq_size=%u\n", &__rseq_size ? __rseq_size : 0u);
  printf("PROBE online_cpus=%ld\n", sysconf(_SC_NPROCESSORS_ONLN));
  printf("PROBE possible_cpus=%ld\n", sysconf(_SC_NPROCESSORS_CONF));
}

}  // namespace

int RunOwnRegistrationProbe() {
  PrintAux();
  const uint32_t len = RegistrationLength();
  printf("PROBE own_len=%u\n", len);
  long reg = ResultOf(RawRseq(&own_area.abi, len, 0));
  printf("PROBE own_register=%ld\n", reg);
  if (reg != 0) {
    printf("PROBE done=1\n");
    return 0;
  }
  sched_yield();  // a return to user space after registration fills in the ID fields
  printf("PROBE cpu_id=%d\n", int(own_area.abi.cpu_id));
  printf("PROBE flags=0x%x\n", own_area.abi.flags);
  long get = ResultOf(prctl(kPrRseqSliceExtension, kPrRseqSliceExtensionGet, 0, 0, 0));
  long set = ResultOf(prctl(kPrRseqSliceExtension, kPrRseqSliceExtensionSet, kPrRseqSliceExtEnable, 0, 0));
  printf("PROBE prctl_get=%ld\n", get);
  printf("PROBE prctl_set=%ld\n", set);
  printf("PROBE flags_after_prctl=0x%x\n", own_area.abi.flags);
  printf("PROBE slice_yield=%ld\n", ResultOf(syscall(kSysRseqSliceYield)));
  fflush(stdout);
  ProbeMmCid();
  if (set == 0) ProbeGrantLoop();
  printf("PROBE own_unregister=%ld\n", ResultOf(RawRseq(&own_area.abi, len, kRseqFlagUnregister)));
  printf("PROBE done=1\n");
  return 0;
}

int RunKernelOwnedWriteProbe(uint32_t length) {
  printf("PROBE ro_len=%u\n", length);
  const long reg = ResultOf(RawRseq(&own_area.abi, length, 0));
  printf("PROBE ro_register=%ld\n", reg);
  fflush(stdout);
  if (reg != 0) return 2;
  sched_yield();  // the first return to user space fills in the IDs
  printf("PROBE ro_cpu_id=%d\n", int(own_area.abi.cpu_id));
  fflush(stdout);
  WriteKernelOwnedFieldAndMigrate(&own_area.abi.cpu_id_start, 1500);
  return 0;
}

int RunGlibcRegistrationProbe() {
  PrintAux();
  if (&__rseq_offset != nullptr) {
    auto* glibc_area = reinterpret_cast<RseqArea*>(
        static_cast<char*>(__builtin_thread_pointer()) + __rseq_offset);
    printf("PROBE glibc_cpu_id=%d\n", int(glibc_area->cpu_id));
  }
  printf("PROBE second_register=%ld\n", ResultOf(RawRseq(&own_area.abi, RegistrationLength(), 0)));
  printf("PROBE prctl_set=%ld\n",
         ResultOf(prctl(kPrRseqSliceExtension, kPrRseqSliceExtensionSet, kPrRseqSliceExtEnable, 0, 0)));
  printf("PROBE done=1\n");
  return 0;
}

}  // namespace kernel_vm
}  // namespace rseqmalloc

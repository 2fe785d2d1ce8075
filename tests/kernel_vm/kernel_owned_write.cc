#include "tests/kernel_vm/kernel_owned_write.h"

#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

namespace rseqmalloc {
namespace kernel_vm {
namespace {

uint64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

}  // namespace

void WriteKernelOwnedFieldAndMigrate(volatile uint32_t* cpu_id_start, int budget_ms) {
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  // No CPU has this number, so it cannot match what the kernel last wrote.
  const uint32_t written = 0x4000u + static_cast<uint32_t>(*cpu_id_start);
  *cpu_id_start = written;
  asm volatile("" ::: "memory");
  const uint64_t end = NowMs() + static_cast<uint64_t>(budget_ms);
  unsigned migrations = 0;
  for (int cpu = 0; NowMs() < end; cpu = (cpu + 1) % static_cast<int>(cpus > 1 ? cpus : 1)) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) == 0) ++migrations;
    sched_yield();
  }
  printf("RO survived=1 cpu_id_start_after=%u written=%u migrations=%u\n", *cpu_id_start, written,
         migrations);
  fflush(stdout);
}

}  // namespace kernel_vm
}  // namespace rseqmalloc

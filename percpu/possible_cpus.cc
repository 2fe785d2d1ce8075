#include "percpu/possible_cpus.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include "percpu/cpu_mask.h"

namespace rseqmalloc {
namespace percpu {

uint32_t ParseCpuListBound(const char* text, size_t len) {
  uint32_t bound = 0;
  size_t i = 0;
  bool any = false;
  while (i < len) {
    char c = text[i];
    if (c == '\n' || c == ' ' || c == ',' || c == '\0') {
      ++i;
      continue;
    }
    if (c < '0' || c > '9') return 0;
    uint32_t value = 0;
    while (i < len && text[i] >= '0' && text[i] <= '9') {
      value = value * 10 + static_cast<uint32_t>(text[i] - '0');
      if (value > (1u << 22)) return 0;  // far beyond any kernel's NR_CPUS
      ++i;
    }
    if (i < len && text[i] == '-') {
      ++i;
      uint32_t high = 0;
      bool digits = false;
      while (i < len && text[i] >= '0' && text[i] <= '9') {
        high = high * 10 + static_cast<uint32_t>(text[i] - '0');
        if (high > (1u << 22)) return 0;
        digits = true;
        ++i;
      }
      if (!digits || high < value) return 0;
      value = high;
    }
    any = true;
    if (value + 1 > bound) bound = value + 1;
  }
  return any ? bound : 0;
}

uint32_t NumPossibleCpus() {
  int fd = open("/sys/devices/system/cpu/possible", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[512];
    size_t used = 0;
    while (used < sizeof(buf)) {
      ssize_t n = read(fd, buf + used, sizeof(buf) - used);
      if (n <= 0) break;
      used += static_cast<size_t>(n);
    }
    close(fd);
    uint32_t bound = used < sizeof(buf) ? ParseCpuListBound(buf, used) : 0;
    if (bound != 0) return bound;
  }
  uint32_t bound = 64;
  CpuMask mask;  // sized to the machine: a fixed cpu_set_t fails beyond 1024 CPUs
  if (mask.ReadCurrentThread(0)) {
    for (uint32_t cpu = 0; cpu < mask.capacity_cpus(); ++cpu) {
      if (mask.Contains(cpu) && cpu + 1 > bound) bound = cpu + 1;
    }
  }
  return bound;
}

}  // namespace percpu
}  // namespace rseqmalloc

#include "tests/percpu/test_mode.h"

#include <sched.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace rseqmalloc {
namespace percpu {
namespace testing {
namespace {
cpu_set_t g_original_mask;
bool g_have_original = false;
}  // namespace

const char* RequestedKey() {
  const char* key = getenv("RSEQ_TEST_KEY");
  return key == nullptr || *key == '\0' ? "auto" : key;
}

RseqOptions OptionsFromEnvironment() {
  RseqOptions options;
  const char* key = RequestedKey();
  if (strcmp(key, "mm_cid") == 0) options.key = SlotKeyRequest::kMmCid;
  if (strcmp(key, "cpu_id") == 0) options.key = SlotKeyRequest::kCpuId;
  if (strcmp(key, "off") == 0) options.key = SlotKeyRequest::kOff;
  const char* slice = getenv("RSEQ_TEST_SLICE_EXT");
  if (slice != nullptr && strcmp(slice, "0") == 0) options.slice_extension = false;
  return options;
}

bool InitFromEnvironment() { return RseqProcessInit(OptionsFromEnvironment()); }

const char* ExpectedOwner() {
  const char* owner = getenv("RSEQ_TEST_EXPECT_OWNER");
  return owner == nullptr || *owner == '\0' ? nullptr : owner;
}

const char* ExpectedFence() {
  const char* fence = getenv("RSEQ_TEST_EXPECT_FENCE");
  return fence == nullptr || *fence == '\0' ? nullptr : fence;
}

int PinToOneCpu() {
  if (!g_have_original) {
    if (sched_getaffinity(0, sizeof(g_original_mask), &g_original_mask) != 0) return -1;
    g_have_original = true;
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &g_original_mask)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) == 0) return cpu;
  }
  return -1;
}

void UnpinFromCpu() {
  if (g_have_original) sched_setaffinity(0, sizeof(g_original_mask), &g_original_mask);
}

int WaitChildWithDeadline(int pid, double deadline_s) {
  auto seconds = [] {
    timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) + t.tv_nsec * 1e-9;
  };
  const double end = seconds() + deadline_s;
  for (;;) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (seconds() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    usleep(10000);
  }
}

}  // namespace testing
}  // namespace percpu
}  // namespace rseqmalloc

#include "tests/percpu/test_mode.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

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

}  // namespace testing
}  // namespace percpu
}  // namespace rseqmalloc

// Memory exhaustion: with RLIMIT_AS lowered in a forked child, every entry point must fail the
// documented way (NULL and ENOMEM, std::bad_alloc, the new handler), blocks allocated before must
// keep their contents, and after the limit is raised again allocation must work as before.
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <new>

#include "gtest/gtest.h"
#include "tests/reliability/fault_harness.h"

namespace rseqmalloc {
namespace reliability {
namespace {

constexpr size_t kMiB = 1 << 20;
constexpr size_t kHeadroom = 256 * kMiB;

// Blocks are chained through their first word so that keeping track of them needs no allocation.
struct Chain {
  void* head = nullptr;
  size_t count = 0;
  void Push(void* block) {
    *static_cast<void**>(block) = head;
    head = block;
    ++count;
  }
  void* Pop() {
    void* block = head;
    if (block != nullptr) {
      head = *static_cast<void**>(block);
      --count;
    }
    return block;
  }
  void FreeAll() {
    while (void* block = Pop()) free(block);
  }
};

long VirtualSizeBytes() {
  FILE* f = fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kib = -1;
  while (fgets(line, sizeof line, f) != nullptr) {
    if (strncmp(line, "VmSize:", 7) == 0) kib = strtol(line + 7, nullptr, 10);
  }
  fclose(f);
  return kib * 1024;
}

bool SetAddressSpaceLimit(rlim_t bytes) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_AS, &limit) != 0) return false;
  limit.rlim_cur = bytes;
  return setrlimit(RLIMIT_AS, &limit) == 0;
}

// Every size class and the large path once, so that whatever the allocator reserves up front
// (per-CPU regions, pagemap, metadata arenas) is reserved before the limit bites.
void WarmUp() {
  for (size_t size = 1; size <= 8 * kMiB; size = size * 5 / 4 + 1) {
    void* p = malloc(size);
    if (p != nullptr) memset(p, 1, size < 4096 ? size : 4096);
    free(p);
  }
}

void* volatile g_sink;

int g_new_handler_calls = 0;
Chain* g_reserve = nullptr;
// Releases the reserve and uninstalls itself, as a program's emergency handler would.
void ReleaseReserve() {
  ++g_new_handler_calls;
  if (g_reserve != nullptr) g_reserve->FreeAll();
  std::set_new_handler(nullptr);
}

#define CHILD_CHECK(cond, code)                                                  \
  do {                                                                           \
    if (!(cond)) {                                                               \
      fprintf(stderr, "check failed (%d): %s [errno %d]\n", code, #cond, errno); \
      return code;                                                               \
    }                                                                            \
  } while (0)

int ExhaustAndRecover() {
  WarmUp();
  long vsize = VirtualSizeBytes();
  CHILD_CHECK(vsize > 0, 10);
  CHILD_CHECK(SetAddressSpaceLimit(static_cast<rlim_t>(vsize) + kHeadroom), 11);

  // A single request larger than the headroom fails at once.
  errno = 0;
  void* too_big = malloc(2 * kHeadroom);
  CHILD_CHECK(too_big == nullptr, 20);
  CHILD_CHECK(errno == ENOMEM, 21);

  // A block written before exhaustion keeps its contents throughout.
  void* witness = malloc(100000);
  CHILD_CHECK(witness != nullptr, 22);
  FillPattern(witness, 100000, 42);

  // Fill the headroom with large blocks, then with small ones, until both fail.
  Chain large, small;
  for (;;) {
    errno = 0;
    void* p = malloc(kMiB);
    if (p == nullptr) {
      CHILD_CHECK(errno == ENOMEM, 30);
      break;
    }
    large.Push(p);
    CHILD_CHECK(large.count < 4096, 31);  // the limit must stop us long before 4 GiB
  }
  for (;;) {
    errno = 0;
    void* p = malloc(48);
    if (p == nullptr) {
      CHILD_CHECK(errno == ENOMEM, 32);
      break;
    }
    small.Push(p);
    CHILD_CHECK(small.count < (size_t{1} << 26), 33);
  }

  // Now every entry point fails cleanly.
  errno = 0;
  CHILD_CHECK(calloc(64, kMiB) == nullptr && errno == ENOMEM, 40);
  void* aligned = nullptr;
  CHILD_CHECK(posix_memalign(&aligned, 4096, 64 * kMiB) == ENOMEM, 41);
  errno = 0;
  CHILD_CHECK(aligned_alloc(4096, 64 * kMiB) == nullptr && errno == ENOMEM, 42);
  errno = 0;
  CHILD_CHECK(realloc(witness, 64 * kMiB) == nullptr && errno == ENOMEM, 43);
  CHILD_CHECK(CheckPattern(witness, 100000, 42) == 100000, 44);  // realloc failure keeps it
  CHILD_CHECK(::operator new(64 * kMiB, std::nothrow) == nullptr, 45);
  bool threw = false;
  try {
    g_sink = ::operator new(64 * kMiB);
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  CHILD_CHECK(threw, 46);
  threw = false;
  try {
    g_sink = ::operator new[](64 * kMiB, std::align_val_t{64});
  } catch (const std::bad_alloc&) {
    threw = true;
  }
  CHILD_CHECK(threw, 47);

  // operator new runs the new handler on failure and retries: the handler frees the 1 MiB blocks
  // (adjacent, so a page heap that merges free runs can serve 4 MiB from them), and the retry
  // must succeed.
  g_reserve = &large;
  std::set_new_handler(ReleaseReserve);
  void* rescued = ::operator new(4 * kMiB);
  CHILD_CHECK(rescued != nullptr, 50);
  CHILD_CHECK(g_new_handler_calls == 1, 51);
  memset(rescued, 7, 4 * kMiB);
  ::operator delete(rescued);
  g_reserve = nullptr;

  // Raise the limit: allocation works again, the witness is intact, big requests succeed.
  small.FreeAll();
  CHILD_CHECK(SetAddressSpaceLimit(RLIM_INFINITY), 60);
  CHILD_CHECK(CheckPattern(witness, 100000, 42) == 100000, 61);
  void* big = malloc(2 * kHeadroom);
  CHILD_CHECK(big != nullptr, 62);
  memset(big, 3, 2 * kHeadroom);
  free(big);
  for (int i = 0; i < 100000; ++i) {
    void* p = malloc(16 + i % 2000);
    CHILD_CHECK(p != nullptr, 63);
    memset(p, 5, 16 + i % 2000);
    free(p);
  }
  void* grown = realloc(witness, 4 * kMiB);
  CHILD_CHECK(grown != nullptr, 64);
  CHILD_CHECK(CheckPattern(grown, 100000, 42) == 100000, 65);
  free(grown);
  return 0;
}

TEST(Exhaustion, FailsCleanlyThenRecoversAfterLimitIsRaised) {
  ChildOutcome outcome = RunInChild(ExhaustAndRecover, 60, /*capture_stderr=*/true);
  EXPECT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
}

// Exhaustion hit by several threads at once: each must see NULL/ENOMEM, none may crash or hang.
int ExhaustFromThreads() {
  WarmUp();
  long vsize = VirtualSizeBytes();
  CHILD_CHECK(SetAddressSpaceLimit(static_cast<rlim_t>(vsize) + kHeadroom), 70);
  constexpr int kThreads = 4;
  pthread_t threads[kThreads];
  static int results[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    results[t] = -1;
    // Thread stacks come from mmap too: create them before memory runs out.
    int rc = pthread_create(
        &threads[t], nullptr,
        [](void* arg) -> void* {
          int* result = static_cast<int*>(arg);
          Chain mine;
          for (int round = 0; round < 3; ++round) {
            for (size_t size = 64;; size = size < 256 * 1024 ? size * 2 : 64) {
              errno = 0;
              void* p = malloc(size);
              if (p == nullptr) {
                if (errno != ENOMEM) {
                  *result = 1;
                  return nullptr;
                }
                break;
              }
              mine.Push(p);
            }
            mine.FreeAll();
          }
          *result = 0;
          return nullptr;
        },
        &results[t]);
    CHILD_CHECK(rc == 0, 71);
  }
  for (int t = 0; t < kThreads; ++t) pthread_join(threads[t], nullptr);
  for (int t = 0; t < kThreads; ++t) CHILD_CHECK(results[t] == 0, 72);
  CHILD_CHECK(SetAddressSpaceLimit(RLIM_INFINITY), 73);
  void* p = malloc(64 * kMiB);
  CHILD_CHECK(p != nullptr, 74);
  free(p);
  return 0;
}

TEST(Exhaustion, ThreadsRunningOutTogether) {
  ChildOutcome outcome = RunInChild(ExhaustFromThreads, 60, /*capture_stderr=*/true);
  EXPECT_TRUE(outcome.exited && outcome.exit_code == 0) << outcome.Describe();
}

}  // namespace
}  // namespace reliability
}  // namespace rseqmalloc

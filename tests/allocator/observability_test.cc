// The numbers the allocator reports, checked against allocation patterns whose effect is known,
// and memory return: on demand, and by the background decay.
#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "allocator/page_heap.h"
#include "allocator/rseqmalloc.h"
#include "gtest/gtest.h"
#include "tests/common/deadline.h"

namespace {

uint64_t Stat(const std::string& name) {
  uint64_t value = 0;
  EXPECT_EQ(rseqmalloc_get_stat(name.c_str(), &value), 0) << name;
  return value;
}

size_t ResidentBytes() {
  FILE* f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  if (f != nullptr) {
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
    fclose(f);
  }
  return resident * static_cast<size_t>(getpagesize());
}

void Escape(void* p) { asm volatile("" : : "r"(p) : "memory"); }

// The binary runs with a 50 ms decay period (see main); tests of the on-demand release must not
// have the decay release the memory first.
class BackgroundReleaseOff {
 public:
  BackgroundReleaseOff() : was_(rseqmalloc_set_background_release(0)) {}
  ~BackgroundReleaseOff() { rseqmalloc_set_background_release(was_); }

 private:
  int was_;
};

// Finds the class of `size` through the class statistics (the smallest class that fits).
uint64_t ClassSizeFor(size_t size) {
  for (int cl = 1; cl < 256; ++cl) {
    uint64_t class_size = 0;
    if (rseqmalloc_get_stat(("class." + std::to_string(cl) + ".size").c_str(), &class_size) != 0) {
      break;
    }
    if (class_size >= size) return class_size;
  }
  return 0;
}

TEST(Statistics, ApplicationBytesFollowKnownAllocations) {
  constexpr size_t kCount = 100000, kSize = 100;
  const uint64_t class_size = ClassSizeFor(kSize);
  ASSERT_GE(class_size, kSize);
  const uint64_t before = Stat("application_bytes");
  std::vector<void*> blocks(kCount);
  for (auto& b : blocks) {
    b = malloc(kSize);
    Escape(b);
  }
  const uint64_t during = Stat("application_bytes");
  // Within the class rounding, plus what the caches happen to hold for other sizes.
  EXPECT_GE(during - before, kCount * kSize);
  EXPECT_LE(during - before, kCount * class_size + (1 << 20));
  for (void* b : blocks) free(b);
  const uint64_t after = Stat("application_bytes");
  EXPECT_LE(after, before + (1 << 20));
}

TEST(Statistics, LayersAddUpAndTextListsThem) {
  void* p = malloc(5 << 20);
  Escape(p);
  EXPECT_GE(Stat("page_heap.in_use_bytes"),
            Stat("application_bytes") + Stat("cpu_cache.bytes") + Stat("transfer_cache.bytes"));
  EXPECT_EQ(Stat("page_heap.system_bytes"),
            Stat("page_heap.in_use_bytes") + Stat("page_heap.free_bytes") +
                Stat("page_heap.returned_bytes"));
  free(p);
  char text[16384];
  const size_t length = rseqmalloc_stats_text(text, sizeof(text));
  ASSERT_LT(length, sizeof(text));
  EXPECT_EQ(strlen(text), length);
  for (const char* name : {"application_bytes ", "cpu_cache.bytes ", "page_heap.returned_bytes ",
                           "slice_ext.grants ", "release.ticks ", "class.1.size "}) {
    EXPECT_NE(strstr(text, name), nullptr) << name;
  }
  // Truncation behaves like snprintf.
  char small[10];
  EXPECT_EQ(rseqmalloc_stats_text(small, sizeof(small)), length);
  EXPECT_EQ(strlen(small), sizeof(small) - 1);
  uint64_t unused;
  EXPECT_EQ(rseqmalloc_get_stat("class.0.size", &unused), -1);
  EXPECT_EQ(rseqmalloc_get_stat("class.9999.size", &unused), -1);
  EXPECT_EQ(rseqmalloc_get_stat("slot.0.nonsense", &unused), -1);
}

TEST(Release, FreeAllThenReleaseLowersResidentMemory) {
  BackgroundReleaseOff no_decay;
  std::vector<void*> blocks;
  for (int i = 0; i < 64; ++i) {  // 64 MiB in 1 MiB blocks, and as much again in small objects
    blocks.push_back(malloc(1 << 20));
    memset(blocks.back(), 1, 1 << 20);
  }
  for (int i = 0; i < 200000; ++i) {
    blocks.push_back(malloc(320));
    memset(blocks.back(), 2, 320);
  }
  const size_t full = ResidentBytes();
  const uint64_t returned_before = Stat("page_heap.returned_bytes");
  for (void* b : blocks) free(b);
  // Part of it may already have gone back at free time (above the page heap's high-water
  // mark); the trim returns the rest.
  rseqmalloc_release_memory(0);
  EXPECT_GT(Stat("page_heap.returned_bytes"), returned_before + (size_t{100} << 20));
  const size_t released = ResidentBytes();
  EXPECT_LT(released + (size_t{100} << 20), full) << full << " -> " << released;
  EXPECT_EQ(Stat("page_heap.free_bytes"), 0u);
  // Right after a trim there is nothing left to give back, and malloc_trim says so.
  malloc_trim(0);
  const int again = malloc_trim(0);
  EXPECT_EQ(again, 0);
}

TEST(Release, MallocTrimReleasesAndSaysSo) {
  BackgroundReleaseOff no_decay;
  void* p = malloc(32 << 20);
  memset(p, 3, 32 << 20);
  free(p);
  EXPECT_EQ(malloc_trim(0), 1);
}

TEST(Control, BudgetFlushAndBackgroundSwitch) {
  const size_t budget = rseqmalloc_get_cpu_cache_budget();
  rseqmalloc_set_cpu_cache_budget(budget / 2);
  EXPECT_EQ(rseqmalloc_get_cpu_cache_budget(), budget / 2);
  EXPECT_EQ(Stat("cpu_cache.budget_bytes"), budget / 2);
  rseqmalloc_set_cpu_cache_budget(budget);
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(malloc(64));
  for (void* b : blocks) free(b);
  rseqmalloc_flush_cpu_cache();
  rseqmalloc_release_memory(0);
  EXPECT_EQ(Stat("cpu_cache.bytes"), 0u);
  const int was = rseqmalloc_set_background_release(0);
  EXPECT_EQ(rseqmalloc_set_background_release(was), 0);
  EXPECT_EQ(mallopt(M_ARENA_MAX, 4), 0);  // glibc knobs do not apply here
}

// Allocates and touches about 100 MB in small objects, frees them all and returns the resident
// size at that point.
size_t FillAndFree(int pattern) {
  std::vector<void*> blocks;
  for (int i = 0; i < 100000; ++i) {
    blocks.push_back(malloc(1000));
    memset(blocks.back(), pattern, 1000);
  }
  for (void* b : blocks) free(b);
  return ResidentBytes();
}

// The decay, in a child that runs with a short period: memory freed and left alone goes back
// to the system without any call to malloc_trim.
int DecayChild(bool with_threads) {
  // The decay alone: no release at free time above the high-water mark.
  rseqmalloc::g_page_heap.set_prompt_release(false);
  std::thread idle_thread;
  if (with_threads) idle_thread = std::thread([] { usleep(2000000); });
  const uint64_t released_before = Stat("release.released_bytes");
  const size_t full = FillAndFree(4);
  // Slow-path traffic, spread over several periods, keeps the decay ticking (no release thread
  // is started here). On a loaded machine the release may come late: wait for it, up to a bound.
  for (int round = 0; round < 400; ++round) {
    usleep(25000);
    std::vector<void*> churn;
    for (int i = 0; i < 3000; ++i) churn.push_back(malloc(24 + (i % 7) * 4096));
    for (void* b : churn) free(b);
    if (round >= 8 && ResidentBytes() + (size_t{50} << 20) <= full) break;
  }
  const size_t later = ResidentBytes();
  if (with_threads) idle_thread.join();
  if (Stat("release.ticks") == 0) return 10;
  if (Stat("release.released_bytes") <= released_before + (size_t{50} << 20)) return 11;
  if (later + (size_t{50} << 20) > full) return 12;
  return 0;
}

// With the release thread, memory comes back while the program makes no allocation at all.
int ReleaseThreadChild() {
  rseqmalloc::g_page_heap.set_prompt_release(false);  // the thread alone gives memory back
  if (rseqmalloc_start_release_thread() != 1) return 20;
  const size_t full = FillAndFree(5);
  for (int i = 0; i < 200 && ResidentBytes() + (size_t{50} << 20) > full; ++i) usleep(25000);
  return ResidentBytes() + (size_t{50} << 20) <= full ? 0 : 21;
}

// Threads that exit call free() from inside glibc while it holds its thread-stack lock; the
// allocator must never do anything there that needs that lock (it once started its release
// thread from there and deadlocked). A thousand exits with the decay ticking every 50 ms.
//
// Sized for a loaded 2-core machine: the time goes into page faults, not into the exits (a
// profile shows the first touch of freed objects and the decay's madvise). The main thread's
// share was once 200 MB of objects per round, which the decay returned and the next round faulted
// in again: 25 s on an idle machine and over 60 s under load, with every thread busy at the
// deadline (no deadlock). About 20 MB per round now keeps the slow paths and the ticks.
int ThreadChurnChild() {
  constexpr int kRounds = 25, kThreadsPerRound = 40;
  const uint64_t ticks_before = Stat("release.ticks");
  for (int round = 0; round < kRounds; ++round) {
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreadsPerRound; ++i) {
      threads.emplace_back([i] {
        std::vector<void*> blocks;
        for (int j = 0; j < 300; ++j) blocks.push_back(malloc(16 + (i * 37 + j * 11) % 3000));
        for (void* b : blocks) free(b);
      });
    }
    // Meanwhile the main thread takes many slow paths in a multi-threaded process, which is
    // where the allocator once started its own thread.
    std::vector<void*> mine;
    for (int j = 0; j < 20000; ++j) mine.push_back(malloc(16 + (j * 97) % 2000));
    for (void* b : mine) free(b);
    for (auto& t : threads) t.join();
  }
  // The decay did tick while threads came and went (otherwise this proved nothing).
  if (Stat("release.ticks") == ticks_before) return 31;
  // And the allocator created no thread of its own behind the program's back.
  usleep(100000);
  int tasks = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (dirent* entry = readdir(dir)) tasks += entry->d_name[0] != '.';
    closedir(dir);
  }
  return tasks == 1 ? 0 : 30;
}

int RunChild(int (*body)(), int seconds) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // A deadlock becomes an abort with every thread's stack on stderr, not a hung test.
    rseqmalloc::test::ArmDeadlineWithStacks(seconds);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(Release, ReleaseThreadReturnsMemoryWithoutAllocations) {
  EXPECT_EQ(RunChild(ReleaseThreadChild, 120), 0);
}

TEST(Release, ThreadsExitWhileTheDecayTicks) {
  EXPECT_EQ(RunChild(ThreadChurnChild, 150), 0);
}

int DecayWithThreads() { return DecayChild(true); }
int DecayWithoutThreads() { return DecayChild(false); }

TEST(Release, DecayReturnsIdleMemoryInMultiThreadedProcesses) {
  EXPECT_EQ(RunChild(DecayWithThreads, 120), 0);
}

TEST(Release, DecayReturnsIdleMemoryInSingleThreadedProcesses) {
  EXPECT_EQ(RunChild(DecayWithoutThreads, 120), 0);
}

}  // namespace

int main(int argc, char** argv) {
  // The decay tests need a short period, which is read once at start-up: run again with it.
  if (getenv("RSEQMALLOC_RELEASE_PERIOD_MS") == nullptr) {
    setenv("RSEQMALLOC_RELEASE_PERIOD_MS", "50", 1);
    execv("/proc/self/exe", argv);
    perror("execv");
    return 2;
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

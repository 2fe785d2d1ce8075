// The single-thread fast path of whatever allocator is preloaded, one loop per row of the runner's
// fast-path table. The program links no allocator: plain malloc/free/new/delete reach the
// preloaded library (or glibc) through the PLT, the way any program calls them. It pins itself to
// one CPU and times each loop in CPU time of this thread, so that time spent preempted by the
// machine's other work is not counted. Output, one line per row and a final RESULT line:
//   ROW name=<row> ns=<median ns per operation pair> via=<function>
// A row the allocator cannot run (no sized free at all) prints ns=- .
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

// Sized frees are optional: C23's free_sized where the allocator has it, else its own spelling.
// Weak, so the program loads under every allocator; each resolves to whatever is preloaded.
extern "C" {
void free_sized(void* ptr, size_t size) __attribute__((weak));
void sdallocx(void* ptr, size_t size, int flags) __attribute__((weak));      // jemalloc
void tc_free_sized(void* ptr, size_t size) __attribute__((weak));            // gperftools
void mi_free_size(void* ptr, size_t size) __attribute__((weak));             // mimalloc
}

namespace {

// Makes p opaque to the optimizer, so that a malloc/free (or new/delete) pair is not elided.
inline void Escape(void* p) { asm volatile("" : : "r"(p) : "memory"); }
template <typename T>
inline T Opaque(T value) {
  asm volatile("" : "+r"(value));
  return value;
}

double ThreadCpuNs() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

// Each loop runs `iterations` operation pairs; noinline so that every row is its own loop.
__attribute__((noinline)) void MallocFree(long iterations, size_t size) {
  for (long i = 0; i < iterations; ++i) {
    void* p = std::malloc(Opaque(size));
    Escape(p);
    std::free(p);
  }
}

__attribute__((noinline)) void NewSizedDelete(long iterations) {
  for (long i = 0; i < iterations; ++i) {
    void* p = ::operator new(64);
    Escape(p);
    ::operator delete(p, 64);
  }
}

constexpr int kBatch = 100;
void* g_batch[kBatch];

// ns per pair is the loop's time divided by iterations * kBatch.
__attribute__((noinline)) void BatchMallocThenFree(long iterations) {
  for (long i = 0; i < iterations; ++i) {
    for (int j = 0; j < kBatch; ++j) g_batch[j] = std::malloc(64);
    Escape(g_batch);
    for (int j = 0; j < kBatch; ++j) std::free(g_batch[j]);
  }
}

enum class SizedFree { kFreeSized, kSdallocx, kTcFreeSized, kMiFreeSize, kNone };

SizedFree PickSizedFree() {
  if (free_sized != nullptr) return SizedFree::kFreeSized;
  if (sdallocx != nullptr) return SizedFree::kSdallocx;
  if (tc_free_sized != nullptr) return SizedFree::kTcFreeSized;
  if (mi_free_size != nullptr) return SizedFree::kMiFreeSize;
  return SizedFree::kNone;
}

const char* SizedFreeName(SizedFree which) {
  switch (which) {
    case SizedFree::kFreeSized: return "free_sized";
    case SizedFree::kSdallocx: return "sdallocx";
    case SizedFree::kTcFreeSized: return "tc_free_sized";
    case SizedFree::kMiFreeSize: return "mi_free_size";
    case SizedFree::kNone: break;
  }
  return "none";
}

// One loop per spelling, so the measured loop holds a direct call, as in a program using it.
__attribute__((noinline)) void MallocFreeSized(long iterations, SizedFree which) {
  switch (which) {
    case SizedFree::kFreeSized:
      for (long i = 0; i < iterations; ++i) { void* p = std::malloc(64); Escape(p); free_sized(p, 64); }
      break;
    case SizedFree::kSdallocx:
      for (long i = 0; i < iterations; ++i) { void* p = std::malloc(64); Escape(p); sdallocx(p, 64, 0); }
      break;
    case SizedFree::kTcFreeSized:
      for (long i = 0; i < iterations; ++i) { void* p = std::malloc(64); Escape(p); tc_free_sized(p, 64); }
      break;
    case SizedFree::kMiFreeSize:
      for (long i = 0; i < iterations; ++i) { void* p = std::malloc(64); Escape(p); mi_free_size(p, 64); }
      break;
    case SizedFree::kNone:
      break;
  }
}

__attribute__((noinline)) void AlignedAllocFree(long iterations) {
  for (long i = 0; i < iterations; ++i) {
    void* p = std::aligned_alloc(Opaque(size_t{64}), 256);
    Escape(p);
    std::free(p);
  }
}

__attribute__((noinline)) void CallocFree(long iterations) {
  for (long i = 0; i < iterations; ++i) {
    void* p = std::calloc(1, Opaque(size_t{64}));
    Escape(p);
    std::free(p);
  }
}

struct Row {
  const char* name;
  // Operation pairs per iteration of the loop.
  int pairs_per_iteration;
  void (*loop)(long iterations);
};

SizedFree g_sized_free = SizedFree::kNone;

const Row kRows[] = {
    {"malloc16", 1, [](long n) { MallocFree(n, 16); }},
    {"malloc1024", 1, [](long n) { MallocFree(n, 1024); }},
    {"new64_sized_delete", 1, NewSizedDelete},
    {"batch100x64", kBatch, [](long n) { BatchMallocThenFree(n / kBatch); }},
    {"free_sized64", 1, [](long n) { MallocFreeSized(n, g_sized_free); }},
    {"aligned_alloc64x256", 1, AlignedAllocFree},
    {"calloc64", 1, CallocFree},
};

// Median of the repetitions' ns per pair.
double MeasureRow(const Row& row, long pairs, int repetitions) {
  double samples[64];
  repetitions = std::min(repetitions, 64);
  long iterations = pairs / row.pairs_per_iteration * row.pairs_per_iteration;
  row.loop(iterations / 10);  // warm up: caches filled, lazy set-up done
  for (int r = 0; r < repetitions; ++r) {
    double start = ThreadCpuNs();
    row.loop(iterations);
    samples[r] = (ThreadCpuNs() - start) / static_cast<double>(iterations);
  }
  std::sort(samples, samples + repetitions);
  return samples[repetitions / 2];
}

// Output without stdio's buffer: under the floor library every malloc returns the same block.
void Print(const char* text) {
  size_t left = std::strlen(text);
  while (left > 0) {
    ssize_t done = write(1, text, left);
    if (done < 0 && errno == EINTR) continue;
    if (done <= 0) return;
    text += done;
    left -= static_cast<size_t>(done);
  }
}

int PinnedCpu(int wanted) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return -1;
  int cpu = wanted;
  if (cpu < 0) {  // default: the highest CPU this process may use
    for (int c = CPU_SETSIZE - 1; c >= 0; --c) {
      if (CPU_ISSET(c, &allowed)) { cpu = c; break; }
    }
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  return sched_setaffinity(0, sizeof(one), &one) == 0 ? cpu : -1;
}

}  // namespace

int main(int argc, char** argv) {
  long pairs = 2000000;
  int repetitions = 5;
  int cpu = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--pairs") == 0) pairs = std::atol(argv[i + 1]);
    else if (std::strcmp(argv[i], "--repetitions") == 0) repetitions = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--cpu") == 0) cpu = std::atoi(argv[i + 1]);
    else {
      Print("usage: fast_path_loops [--pairs N] [--repetitions R] [--cpu C]\n");
      return 2;
    }
  }
  if (pairs < 1000 || repetitions < 1) {
    Print("fast_path_loops: --pairs must be >= 1000 and --repetitions >= 1\n");
    return 2;
  }
  cpu = PinnedCpu(cpu);
  if (cpu < 0) {
    Print("fast_path_loops: cannot pin to a CPU\n");
    return 1;
  }
  g_sized_free = PickSizedFree();
  char line[160];
  for (const Row& row : kRows) {
    bool sized = std::strcmp(row.name, "free_sized64") == 0;
    const char* via = sized ? SizedFreeName(g_sized_free) : "standard";
    if (sized && g_sized_free == SizedFree::kNone) {
      std::snprintf(line, sizeof(line), "ROW name=%s ns=- via=%s\n", row.name, via);
    } else {
      std::snprintf(line, sizeof(line), "ROW name=%s ns=%.3f via=%s\n", row.name,
                    MeasureRow(row, pairs, repetitions), via);
    }
    Print(line);
  }
  std::snprintf(line, sizeof(line), "RESULT workload=fast_path_loops cpu=%d check=ok\n", cpu);
  Print(line);
  return 0;
}

// Guest stress program for the allocator, linked statically with rseqmalloc as the process malloc.
// It proves correctness by surviving: every block carries a pattern that is checked before it is
// freed (by a different thread for a large share of blocks), threads hop between CPUs with
// sched_setaffinity so the per-CPU fast path sees migrations, and in V2 mode any write to a
// kernel-owned rseq field would get the process killed. A contention phase with more threads than
// CPUs keeps the shared (locked) layers busy so that slice-extension counters can be read after.
//
// Output (parsed by guest_init): "LIBC version=.. rseq_size=..", "STATUS <rseqmalloc_rseq_status
// line>", one "STRESS ..." line per phase, and "STAT <name>=<value|unknown>" for the
// slice-extension counters. Exit status 0 only if every check held.
//
// With --write-kernel-owned it runs no stress: after the allocator has set up rseq it corrupts
// cpu_id_start of the area the allocator uses (its own or glibc's) and migrates, so that the
// kernel, not the allocator's report, says whether that registration is optimized (see
// kernel_owned_write.h).
#include <gnu/libc-version.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <initializer_list>

#include "allocator/rseqmalloc.h"
#include "arch/rseq_abi.h"
#include "percpu/rseq_registration.h"
#include "tests/kernel_vm/kernel_owned_write.h"

extern "C" {
extern const unsigned int __rseq_size __attribute__((weak));
}

namespace {

constexpr uint64_t kMagic = 0x7273716d616c6c63ull;  // "rsqmallc"
constexpr size_t kFullCheckLimit = 4096;            // larger blocks: only head and tail are filled
constexpr size_t kEdge = 256;

struct BlockHeader {
  uint64_t magic;
  uint64_t size;
  uint64_t seed;
};

std::atomic<uint64_t> failures{0};

uint64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// xorshift: cheap, per-thread, deterministic.
uint64_t Next(uint64_t* state) {
  uint64_t x = *state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *state = x;
}

uint8_t PatternByte(uint64_t seed, size_t i) { return uint8_t((seed >> (i % 56)) + i * 131); }

void FillRange(unsigned char* p, size_t from, size_t to, uint64_t seed) {
  for (size_t i = from; i < to; ++i) p[i] = PatternByte(seed, i);
}

bool CheckRange(const unsigned char* p, size_t from, size_t to, uint64_t seed) {
  for (size_t i = from; i < to; ++i)
    if (p[i] != PatternByte(seed, i)) return false;
  return true;
}

void* NewBlock(size_t size, uint64_t seed) {
  if (size < sizeof(BlockHeader)) size = sizeof(BlockHeader);
  auto* p = static_cast<unsigned char*>(malloc(size));
  if (p == nullptr) {
    failures.fetch_add(1);
    return nullptr;
  }
  auto* h = reinterpret_cast<BlockHeader*>(p);
  h->magic = kMagic;
  h->size = size;
  h->seed = seed;
  if (size <= kFullCheckLimit) {
    FillRange(p, sizeof(BlockHeader), size, seed);
  } else {
    FillRange(p, sizeof(BlockHeader), kEdge, seed);
    FillRange(p, size - kEdge, size, seed);
  }
  return p;
}

void FreeBlock(void* block) {
  if (block == nullptr) return;
  auto* p = static_cast<unsigned char*>(block);
  auto* h = reinterpret_cast<BlockHeader*>(p);
  bool ok = h->magic == kMagic;
  if (ok) {
    size_t size = h->size;
    ok = size <= kFullCheckLimit ? CheckRange(p, sizeof(BlockHeader), size, h->seed)
                                 : CheckRange(p, sizeof(BlockHeader), kEdge, h->seed) &&
                                       CheckRange(p, size - kEdge, size, h->seed);
  }
  if (!ok && failures.fetch_add(1) < 5) fprintf(stderr, "alloc_stress: corrupted block %p\n", block);
  h->magic = 0;
  free(block);
}

size_t RandomSize(uint64_t* rng) {
  uint64_t r = Next(rng);
  switch (r % 16) {
    case 0: return 4096 + (r >> 8) % (256 * 1024);  // page-level and large
    case 1:
    case 2: return 1024 + (r >> 8) % 3072;
    default: return 8 + (r >> 8) % 512;  // the per-CPU cache's bread and butter
  }
}

// Blocks handed between threads: whoever swaps one out frees it, usually not its allocator.
constexpr int kExchangeSlots = 1024;
std::atomic<void*> exchange[kExchangeSlots];

struct Phase {
  const char* name;
  int threads;
  uint64_t duration_ms;
  int batch;  // objects allocated then freed together (contention), or 0 for mixed churn
  bool churn_affinity;
};

struct ThreadArgs {
  const Phase* phase;
  int index;
  uint64_t ops;
};

void MaybeMigrate(uint64_t* rng, int ncpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (Next(rng) % 4 == 0) {
    for (int c = 0; c < ncpus; ++c) CPU_SET(c, &set);
  } else {
    CPU_SET(int(Next(rng) % ncpus), &set);
  }
  sched_setaffinity(0, sizeof(set), &set);
}

void* Worker(void* arg) {
  auto* args = static_cast<ThreadArgs*>(arg);
  const Phase& phase = *args->phase;
  const int ncpus = int(sysconf(_SC_NPROCESSORS_ONLN));
  uint64_t rng = 0x9e3779b97f4a7c15ull * (args->index + 1);
  constexpr int kLocal = 256;
  void* local[kLocal] = {};
  const uint64_t end = NowMs() + phase.duration_ms;
  uint64_t ops = 0;
  while (NowMs() < end) {
    if (phase.batch > 0) {
      // Contention: allocate a batch of one size, trade half of it away, free the rest.
      void* batch[512];
      size_t size = 16 << (Next(&rng) % 6);
      int n = phase.batch > 512 ? 512 : phase.batch;
      for (int i = 0; i < n; ++i) batch[i] = NewBlock(size, Next(&rng));
      for (int i = 0; i < n; i += 2) {
        FreeBlock(exchange[Next(&rng) % kExchangeSlots].exchange(batch[i]));
      }
      for (int i = 1; i < n; i += 2) FreeBlock(batch[i]);
      ops += 2 * n;
      continue;
    }
    for (int i = 0; i < 1000; ++i, ++ops) {
      uint64_t r = Next(&rng);
      int slot = int(r % kLocal);
      switch ((r >> 12) % 8) {
        case 0:  // cross-thread: swap with the shared pool
          FreeBlock(exchange[(r >> 20) % kExchangeSlots].exchange(NewBlock(RandomSize(&rng), r)));
          break;
        case 1: {  // calloc must return zeroes
          size_t n = 1 + (r >> 20) % 300;
          auto* z = static_cast<unsigned char*>(calloc(n, 8));
          for (size_t k = 0; z && k < n * 8; ++k)
            if (z[k] != 0) { failures.fetch_add(1); break; }
          free(z);
          break;
        }
        case 2: {  // realloc keeps the prefix
          size_t old_size = 64 + (r >> 20) % 1000;
          auto* p = static_cast<unsigned char*>(malloc(old_size));
          if (!p) { failures.fetch_add(1); break; }
          FillRange(p, 0, old_size, r);
          auto* q = static_cast<unsigned char*>(realloc(p, old_size * 3));
          if (!q || !CheckRange(q, 0, old_size, r)) failures.fetch_add(1);
          free(q);
          break;
        }
        default:
          FreeBlock(local[slot]);
          local[slot] = NewBlock(RandomSize(&rng), r);
      }
    }
    if (phase.churn_affinity) MaybeMigrate(&rng, ncpus);
  }
  for (void*& p : local) FreeBlock(p);
  args->ops = ops;
  return nullptr;
}

bool RunPhase(const Phase& phase) {
  pthread_t tids[64];
  ThreadArgs args[64];
  const int n = phase.threads > 64 ? 64 : phase.threads;
  const uint64_t failures_before = failures.load();
  for (int i = 0; i < n; ++i) {
    args[i] = ThreadArgs{&phase, i, 0};
    if (pthread_create(&tids[i], nullptr, Worker, &args[i]) != 0) failures.fetch_add(1);
  }
  uint64_t ops = 0;
  for (int i = 0; i < n; ++i) {
    pthread_join(tids[i], nullptr);
    ops += args[i].ops;
  }
  for (auto& slot : exchange) FreeBlock(slot.exchange(nullptr));
  const bool ok = failures.load() == failures_before && ops > 0;
  printf("STRESS phase=%s threads=%d ms=%llu ops=%llu result=%s\n", phase.name, n,
         (unsigned long long)phase.duration_ms, (unsigned long long)ops, ok ? "ok" : "FAILED");
  fflush(stdout);
  return ok;
}

void PrintStat(const char* name) {
  uint64_t value = 0;
  if (rseqmalloc_get_stat(name, &value) == 0) {
    printf("STAT %s=%llu\n", name, (unsigned long long)value);
  } else {
    printf("STAT %s=unknown\n", name);
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t churn_ms = 1500, contention_ms = 2500;
  int contention_threads = 8;
  const bool write_kernel_owned = argc > 1 && !strcmp(argv[1], "--write-kernel-owned");
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--churn-ms")) churn_ms = strtoull(argv[i + 1], nullptr, 10);
    if (!strcmp(argv[i], "--contention-ms")) contention_ms = strtoull(argv[i + 1], nullptr, 10);
    if (!strcmp(argv[i], "--contention-threads")) contention_threads = atoi(argv[i + 1]);
  }
  // A first allocation lets the allocator set up (and register rseq) before it is asked.
  free(malloc(16));
  char status[512];
  rseqmalloc_rseq_status(status, sizeof(status));
  printf("LIBC version=%s rseq_size=%u\n", gnu_get_libc_version(), &__rseq_size ? __rseq_size : 0u);
  printf("STATUS %s\n", status);
  fflush(stdout);
  if (write_kernel_owned) {
    if (rseqmalloc::percpu::CurrentRseqStatus().owner == rseqmalloc::percpu::RseqOwner::kNone) {
      printf("RO no_rseq=1\n");
      return 3;
    }
    rseqmalloc::kernel_vm::WriteKernelOwnedFieldAndMigrate(
        reinterpret_cast<volatile uint32_t*>(rseqmalloc::percpu::ThreadRseqArea() +
                                             rseqmalloc::arch::kRseqCpuIdStartOffset),
        1500);
    return 0;
  }
  const int ncpus = int(sysconf(_SC_NPROCESSORS_ONLN));
  bool ok = RunPhase(Phase{"churn", ncpus * 2, churn_ms, 0, true});
  ok &= RunPhase(Phase{"contention", contention_threads, contention_ms, 256, false});
  // Read the status again: registration must not have changed under load.
  rseqmalloc_rseq_status(status, sizeof(status));
  printf("STATUS_AFTER %s\n", status);
  for (const char* name : {"slice_ext.requests", "slice_ext.grants", "slice_ext.yields",
                           "slice_ext.yields_returned_one"}) {
    PrintStat(name);
  }
  printf("STRESS failures=%llu\n", (unsigned long long)failures.load());
  return ok ? 0 : 1;
}

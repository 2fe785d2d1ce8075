// Oversubscribed, refill-heavy workload for measuring what the scheduler time-slice extension
// buys (run by benchmarks/slice_extension/run.sh inside the Linux 7.3 guest, with rseqmalloc as
// the process malloc). Many more threads than CPUs each allocate a batch of objects far larger
// than a per-CPU cache holds, then free it: every few dozen calls miss the per-CPU cache and go
// through the transfer cache and central free list, whose spin locks are shared by all threads.
// When the kernel preempts a thread while it holds one of those locks, the threads on the other
// CPUs spin and yield until it runs again; the extension is meant to let the holder finish first.
//
//   refill_contention [--threads N] [--seconds S] [--batch B] [--size BYTES]
//
// Prints one line "SLICEBENCH key=value ..." with throughput (malloc+free calls per second), the
// latency quantiles of all calls, the latency quantiles of the slow-path calls, the allocator's
// miss and slice-extension counters for the run, the process's context switches (voluntary,
// involuntary) and CPU time during the run, and the allocator's rseq status.
//
// Slow-path latency: a call's path is not visible from outside without slowing the hit path, so
// the slow-path distribution is taken as the slowest fraction f of all calls, where f is the
// allocator's own count of per-CPU misses (underflows + overflows) divided by the calls. A hit
// costs far less than a refill, so the two populations barely overlap; a hit that was preempted
// mid-call also lands in the tail, which is the cost this benchmark is about anyway.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <x86intrin.h>

#include <atomic>
#include <thread>
#include <vector>

#include "allocator/rseqmalloc.h"

namespace {

// Log-linear histogram of cycle counts: 16 sub-buckets per power of two (~4 % resolution).
constexpr int kSubBits = 4;
constexpr int kBuckets = 64 << kSubBits;

int BucketOf(uint64_t cycles) {
  if (cycles < (1u << kSubBits)) return static_cast<int>(cycles);
  const int msb = 63 - __builtin_clzll(cycles);
  const int sub = static_cast<int>((cycles >> (msb - kSubBits)) & ((1u << kSubBits) - 1));
  return ((msb - kSubBits + 1) << kSubBits) + sub;
}

// Lower bound, in cycles, of a bucket (inverse of BucketOf).
double BucketCycles(int bucket) {
  if (bucket < (1 << kSubBits)) return bucket;
  const int msb = (bucket >> kSubBits) + kSubBits - 1;
  const uint64_t sub = static_cast<uint64_t>(bucket & ((1 << kSubBits) - 1));
  return static_cast<double>((uint64_t{1} << msb) | (sub << (msb - kSubBits)));
}

struct alignas(64) ThreadResult {
  uint64_t calls = 0;
  uint64_t histogram[kBuckets] = {};
};

std::atomic<bool> g_stop{false};
std::atomic<int> g_ready{0};

void Worker(ThreadResult* result, size_t batch, size_t size, int threads) {
  std::vector<void*> objects(batch);
  g_ready.fetch_add(1);
  while (g_ready.load(std::memory_order_acquire) < threads) {
  }
  uint64_t* histogram = result->histogram;
  uint64_t calls = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    for (size_t i = 0; i < batch; ++i) {
      const uint64_t t0 = __rdtsc();
      void* p = malloc(size);
      const uint64_t t1 = __rdtsc();
      ++histogram[BucketOf(t1 - t0)];
      *static_cast<volatile char*>(p) = static_cast<char>(i);  // the object is really used
      objects[i] = p;
    }
    for (size_t i = 0; i < batch; ++i) {
      const uint64_t t0 = __rdtsc();
      free(objects[i]);
      const uint64_t t1 = __rdtsc();
      ++histogram[BucketOf(t1 - t0)];
    }
    calls += 2 * batch;
  }
  result->calls = calls;
}

uint64_t Stat(const char* name) {
  uint64_t value = 0;
  rseqmalloc_get_stat(name, &value);
  return value;
}

double NowSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double CpuSeconds(const rusage& u) {
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

// Cycle count below which a fraction q of the histogram's samples lie.
double Quantile(const uint64_t* histogram, uint64_t total, double q) {
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += static_cast<double>(histogram[b]);
    if (seen >= rank && histogram[b] != 0) return BucketCycles(b);
  }
  return BucketCycles(kBuckets - 1);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 8;
  double seconds = 2.0;
  size_t batch = 4096;
  size_t size = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch")) batch = strtoul(argv[i + 1], nullptr, 10);
    else if (!strcmp(argv[i], "--size")) size = strtoul(argv[i + 1], nullptr, 10);
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (threads < 1 || batch < 1 || seconds <= 0) return 2;

  // Warm the heap once so that the measured run does not include first-touch page faults.
  {
    std::vector<void*> warm(batch * static_cast<size_t>(threads));
    for (void*& p : warm) p = malloc(size);
    for (void* p : warm) free(p);
  }

  const uint64_t misses_before = Stat("cpu_cache.underflows") + Stat("cpu_cache.overflows");
  const uint64_t requests_before = Stat("slice_ext.requests");
  const uint64_t grants_before = Stat("slice_ext.grants");
  const uint64_t yields_before = Stat("slice_ext.yields");

  rusage usage_before{};
  getrusage(RUSAGE_SELF, &usage_before);
  std::vector<ThreadResult> results(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  const double start = NowSeconds();
  const uint64_t tsc_start = __rdtsc();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back(Worker, &results[static_cast<size_t>(t)], batch, size, threads);
  }
  timespec pause{static_cast<time_t>(seconds),
                 static_cast<long>((seconds - static_cast<double>(static_cast<time_t>(seconds))) * 1e9)};
  nanosleep(&pause, nullptr);
  g_stop.store(true);
  for (std::thread& w : workers) w.join();
  const double elapsed = NowSeconds() - start;
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double ns_per_cycle = elapsed * 1e9 / static_cast<double>(__rdtsc() - tsc_start);

  static uint64_t histogram[kBuckets];
  uint64_t calls = 0;
  for (const ThreadResult& r : results) {
    calls += r.calls;
    for (int b = 0; b < kBuckets; ++b) histogram[b] += r.histogram[b];
  }
  uint64_t samples = 0;
  for (int b = 0; b < kBuckets; ++b) samples += histogram[b];
  const uint64_t misses = Stat("cpu_cache.underflows") + Stat("cpu_cache.overflows") - misses_before;
  const double slow_fraction =
      samples ? static_cast<double>(misses) / static_cast<double>(samples) : 0;
  auto all_ns = [&](double q) { return Quantile(histogram, samples, q) * ns_per_cycle; };
  // Quantile q of the slow calls = quantile 1 - f(1 - q) of all calls.
  auto slow_ns = [&](double q) { return all_ns(1.0 - slow_fraction * (1.0 - q)); };
  int max_bucket = kBuckets - 1;
  while (max_bucket > 0 && histogram[max_bucket] == 0) --max_bucket;

  char status[512];
  rseqmalloc_rseq_status(status, sizeof(status));
  for (char* c = status; *c; ++c)
    if (*c == '\n') *c = ' ';
  printf("SLICEBENCH threads=%d batch=%zu size=%zu seconds=%.3f calls=%llu ops_per_s=%.0f "
         "slow_fraction=%.5f all_p50_ns=%.0f all_p99_ns=%.0f all_p999_ns=%.0f "
         "slow_p50_ns=%.0f slow_p99_ns=%.0f slow_p999_ns=%.0f max_ns=%.0f misses=%llu "
         "requests=%llu grants=%llu yields=%llu nvcsw=%ld nivcsw=%ld cpu_s=%.3f status=[%s]\n",
         threads, batch, size, elapsed, static_cast<unsigned long long>(calls),
         static_cast<double>(calls) / elapsed, slow_fraction, all_ns(0.5), all_ns(0.99),
         all_ns(0.999), slow_ns(0.5), slow_ns(0.99), slow_ns(0.999),
         BucketCycles(max_bucket) * ns_per_cycle, static_cast<unsigned long long>(misses),
         static_cast<unsigned long long>(Stat("slice_ext.requests") - requests_before),
         static_cast<unsigned long long>(Stat("slice_ext.grants") - grants_before),
         static_cast<unsigned long long>(Stat("slice_ext.yields") - yields_before),
         usage.ru_nvcsw - usage_before.ru_nvcsw, usage.ru_nivcsw - usage_before.ru_nivcsw,
         CpuSeconds(usage) - CpuSeconds(usage_before), status);
  return calls > 0 ? 0 : 1;
}

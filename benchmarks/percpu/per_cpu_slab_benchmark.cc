// Fast-path cost of PerCpuSlab: one push + one pop, and batch push + batch pop.
// The rseq mode is picked like the tests do: RSEQ_TEST_KEY=auto|mm_cid|cpu_id|off, and
// GLIBC_TUNABLES=glibc.pthread.rseq=0 at exec for our own registration. The benchmark pins itself
// to one CPU so that the slot stays put. See benchmarks/percpu/run_modes.sh.
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "benchmark/benchmark.h"
#include "percpu/per_cpu_slab.h"
#include "percpu/rseq_registration.h"
#include "percpu/rseq_status.h"

namespace rseqmalloc {
namespace percpu {
namespace {

constexpr size_t kClasses = 8;
PerCpuSlab g_slab;

bool Setup() {
  static bool ok = [] {
    RseqOptions options;
    const char* key = getenv("RSEQ_TEST_KEY");
    if (key != nullptr && strcmp(key, "mm_cid") == 0) options.key = SlotKeyRequest::kMmCid;
    if (key != nullptr && strcmp(key, "cpu_id") == 0) options.key = SlotKeyRequest::kCpuId;
    if (key != nullptr && strcmp(key, "off") == 0) options.key = SlotKeyRequest::kOff;
    RseqProcessInit(options);
    uint16_t capacity[kClasses];
    for (auto& c : capacity) c = 256;
    if (!g_slab.Init(kClasses, capacity)) return false;
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof(set), &set);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (!CPU_ISSET(cpu, &set)) continue;
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      sched_setaffinity(0, sizeof(one), &one);
      break;
    }
    for (size_t cl = 0; cl < kClasses; ++cl) g_slab.Grow(cl, 256);
    char line[200];
    CurrentRseqStatus().Format(line, sizeof(line));
    benchmark::AddCustomContext("rseq_status", line);
    return true;
  }();
  return ok;
}

// Decide the mode before the benchmark library prints its context, so the status line is in it.
const bool g_setup_before_main = Setup();

void* Item(size_t i) { return reinterpret_cast<void*>((i + 1) * 16); }

void BM_PushPop(benchmark::State& state) {
  if (!Setup()) state.SkipWithError("Init failed");
  void* item = Item(1);
  size_t ok = 0;
  for (auto _ : state) {
    ok += g_slab.Push(3, item);
    item = g_slab.Pop(3);
    if (item == nullptr) item = Item(1);  // unusable mode: both fail
    benchmark::DoNotOptimize(item);
  }
  state.counters["push_ok"] = static_cast<double>(ok) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_PushPop);

void BM_PushBatchPopBatch(benchmark::State& state) {
  if (!Setup()) state.SkipWithError("Init failed");
  size_t n = static_cast<size_t>(state.range(0));
  void* batch[256];
  for (size_t i = 0; i < n; ++i) batch[i] = Item(i);
  size_t moved = 0;
  for (auto _ : state) {
    size_t pushed = g_slab.PushBatch(5, batch, n);
    size_t popped = g_slab.PopBatch(5, batch, pushed);
    moved += popped;
    benchmark::DoNotOptimize(batch);
  }
  state.SetItemsProcessed(static_cast<int64_t>(moved));
}
BENCHMARK(BM_PushBatchPopBatch)->Arg(8)->Arg(32)->Arg(128);

// The cost a caller pays when rseq is unusable: the early failure of Pop.
void BM_PopFromEmpty(benchmark::State& state) {
  if (!Setup()) state.SkipWithError("Init failed");
  for (auto _ : state) benchmark::DoNotOptimize(g_slab.Pop(7));
}
BENCHMARK(BM_PopFromEmpty);

}  // namespace
}  // namespace percpu
}  // namespace rseqmalloc

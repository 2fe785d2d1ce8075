// A self-checking program without GoogleTest, so that it can be built by a plain compiler for any
// architecture (including statically for a bare VM's /init) and still exercise the rseq layer:
// prints the status line, then checks push/pop against a model on a pinned thread, and item
// conservation under threads + migrations + remote drains. Exit status 0 = all checks passed.
//   standalone_check [auto|mm_cid|cpu_id|off] [--expect-owner=glibc|own|none]
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "percpu/fence.h"
#include "percpu/per_cpu_slab.h"
#include "percpu/rseq_registration.h"
#include "percpu/rseq_status.h"
#include "percpu/slice_extension.h"

using namespace rseqmalloc::percpu;

namespace {

int g_failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "CHECK failed at line %d: %s\n", __LINE__, #cond); \
      ++g_failures;                                                   \
    }                                                                 \
  } while (0)

PerCpuSlab g_slab;
constexpr size_t kClasses = 3;
constexpr uint16_t kCap[kClasses] = {64, 8, 200};

void* Item(size_t i) { return reinterpret_cast<void*>((i + 1) * 16); }

std::mutex g_mu;
std::vector<void*> g_pool;
void ToPool(void*, size_t, void** items, size_t n) {
  std::lock_guard<std::mutex> l(g_mu);
  g_pool.insert(g_pool.end(), items, items + n);
}

uint32_t g_rng = 12345;
uint32_t Rand() {
  g_rng = g_rng * 1103515245u + 12345u;
  return g_rng >> 8;
}

void PinFirstCpu(cpu_set_t* saved) {
  sched_getaffinity(0, sizeof(*saved), saved);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (!CPU_ISSET(c, saved)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(c, &one);
    sched_setaffinity(0, sizeof(one), &one);
    return;
  }
}

void ModelCheck() {
  cpu_set_t saved;
  PinFirstCpu(&saved);
  int slot = g_slab.CurrentSlot();
  CHECK(slot >= 0);
  g_slab.Drain(slot, [](void*, size_t, void**, size_t) {}, nullptr);
  std::vector<void*> model[kClasses];
  size_t cap[kClasses] = {};
  size_t next = 0;
  for (int step = 0; step < 100000 && g_failures == 0; ++step) {
    size_t cl = Rand() % kClasses;
    switch (Rand() % 6) {
      case 0: case 1: {
        void* it = Item(next++);
        bool fits = model[cl].size() < cap[cl];
        CHECK(g_slab.Push(cl, it) == fits);
        if (fits) model[cl].push_back(it);
        break;
      }
      case 2: case 3: {
        void* want = model[cl].empty() ? nullptr : model[cl].back();
        CHECK(g_slab.Pop(cl) == want);
        if (want) model[cl].pop_back();
        break;
      }
      case 4: {
        void* b[16];
        size_t n = Rand() % 16;
        for (size_t i = 0; i < n; ++i) b[i] = Item(next++);
        size_t room = cap[cl] - model[cl].size();
        size_t k = n < room ? n : room;
        CHECK(g_slab.PushBatch(cl, b, n) == k);
        for (size_t i = n - k; i < n; ++i) model[cl].push_back(b[i]);
        if (Rand() % 3 == 0) {
          size_t want = Rand() % 10, head = kCap[cl] - cap[cl];
          size_t g = want < head ? want : head;
          CHECK(g_slab.Grow(cl, want) == g);
          cap[cl] += g;
        }
        break;
      }
      case 5: {
        void* b[16];
        size_t n = Rand() % 16;
        size_t k = n < model[cl].size() ? n : model[cl].size();
        CHECK(g_slab.PopBatch(cl, b, n) == k);
        for (size_t i = 0; i < k; ++i) CHECK(b[i] == model[cl][model[cl].size() - k + i]);
        model[cl].resize(model[cl].size() - k);
        break;
      }
    }
  }
  for (size_t c = 0; c < kClasses; ++c) CHECK(g_slab.Length(slot, c) == model[c].size());
  g_slab.Drain(slot, [](void*, size_t, void**, size_t) {}, nullptr);
  sched_setaffinity(0, sizeof(saved), &saved);
}

void ConservationCheck() {
  constexpr size_t kItems = 20000;
  int cpus = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  int nthreads = cpus * 3 + 2;
  std::vector<std::vector<void*>> locals(nthreads);
  for (size_t i = 0; i < kItems; ++i) locals[i % nthreads].push_back(Item(i));
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (int t = 0; t < nthreads; ++t) {
    ts.emplace_back([&, t] {
      uint32_t r = 77 + t;
      auto rnd = [&r] { r = r * 1103515245u + 12345u; return r >> 8; };
      std::vector<void*>& local = locals[t];
      void* b[16];
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        size_t cl = rnd() % kClasses;
        switch (rnd() % 6) {
          case 0: if (!local.empty() && g_slab.Push(cl, local.back())) local.pop_back(); break;
          case 1: if (void* p = g_slab.Pop(cl)) local.push_back(p); break;
          case 2: {
            size_t n = local.size() < 16 ? local.size() : 16;
            local.resize(local.size() - g_slab.PushBatch(cl, local.data() + local.size() - n, n));
            break;
          }
          case 3: { size_t k = g_slab.PopBatch(cl, b, 16); local.insert(local.end(), b, b + k); break; }
          case 4: g_slab.Grow(cl, 4); break;
          case 5:
            if (i % 512 == 0) {
              cpu_set_t one;
              CPU_ZERO(&one);
              CPU_SET(static_cast<int>(rnd() % cpus), &one);
              sched_setaffinity(0, sizeof(one), &one);
            }
            break;
        }
      }
    });
  }
  uint64_t remote = 0;
  for (int round = 0; round < 400; ++round) {
    int slot = static_cast<int>(Rand() % g_slab.NumSlots());
    if (g_slab.SlotInitialized(slot)) {
      if (round % 3 == 0) g_slab.Drain(slot, ToPool, nullptr);
      else g_slab.Shrink(slot, Rand() % kClasses, 8, ToPool, nullptr);
      ++remote;
    }
    usleep(2000);
  }
  stop.store(true);
  for (auto& t : ts) t.join();
  for (size_t s = 0; s < g_slab.NumSlots(); ++s) g_slab.Drain(static_cast<int>(s), ToPool, nullptr);
  std::vector<int> seen(kItems, 0);
  for (auto& l : locals) for (void* p : l) ++seen[reinterpret_cast<uintptr_t>(p) / 16 - 1];
  for (void* p : g_pool) ++seen[reinterpret_cast<uintptr_t>(p) / 16 - 1];
  size_t bad = 0;
  for (int n : seen) bad += n != 1;
  CHECK(bad == 0);
  printf("conservation: threads=%d remote_ops=%llu lost_or_duplicated=%zu\n", nthreads,
         static_cast<unsigned long long>(remote), bad);
}

}  // namespace

int main(int argc, char** argv) {
  RseqOptions options;
  const char* expect_owner = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "mm_cid") == 0) options.key = SlotKeyRequest::kMmCid;
    else if (strcmp(argv[i], "cpu_id") == 0) options.key = SlotKeyRequest::kCpuId;
    else if (strcmp(argv[i], "off") == 0) options.key = SlotKeyRequest::kOff;
    else if (strncmp(argv[i], "--expect-owner=", 15) == 0) expect_owner = argv[i] + 15;
  }
  bool usable = RseqProcessInit(options);
  char line[200];
  CurrentRseqStatus().Format(line, sizeof(line));
  printf("%s\n", line);
  printf("fence=%s\n", CurrentFenceMethod() == FenceMethod::kMembarrier ? "membarrier"
                        : CurrentFenceMethod() == FenceMethod::kAffinity ? "affinity" : "none");
  if (expect_owner != nullptr) CHECK(strcmp(RseqOwnerName(CurrentRseqStatus().owner), expect_owner) == 0);
  CHECK(g_slab.Init(kClasses, kCap));
  {
    SliceExtensionGuard guard;  // must be harmless whatever the kernel offers
  }
  SliceExtensionCounters sc = GetSliceExtensionCounters();
  printf("slice_ext: active=%d requests=%llu grants=%llu yields=%llu\n",
         SliceExtensionActiveOnThisThread() ? 1 : 0, static_cast<unsigned long long>(sc.requests),
         static_cast<unsigned long long>(sc.grants), static_cast<unsigned long long>(sc.yields));
  if (usable) {
    ModelCheck();
  } else {
    CHECK(g_slab.CurrentSlot() == -1);
    CHECK(!g_slab.Push(0, Item(1)));
    CHECK(g_slab.Pop(0) == nullptr);
  }
  ConservationCheck();
  printf("%s (%d failures)\n", g_failures == 0 ? "PASS" : "FAIL", g_failures);
  return g_failures == 0 ? 0 : 1;
}

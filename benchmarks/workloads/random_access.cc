// Random access over a large heap of small objects, where hugepages matter: a chained hash table of
// 48-byte nodes (512 MiB x scale of them, 1 GiB in the runner's full mode), built in key order and
// then looked up at random, so that nearly every hop misses the caches and the TLB. With 4 KiB
// pages each hop also walks the page tables; with 2 MiB pages the TLB covers gigabytes. Reported:
// lookup_ns (CPU time per lookup, the time that hugepages change; CPU time so that a busy machine's
// preemptions do not count, while the stalls on memory do), heap_kib (bytes the program asked for),
// anon_huge_kib (AnonHugePages of /proc/self/smaps_rollup after the build) and huge_pct, the part
// of the heap that hugepages back.
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "benchmarks/workloads/check_log.h"
#include "benchmarks/workloads/workload_options.h"
#include "benchmarks/workloads/workload_result.h"

namespace rseqmalloc {
namespace bench {
namespace {

struct Node {
  uint64_t key;
  uint64_t value;
  Node* next;
  uint64_t check;  // a function of key and value: catches a node changed by someone else
  uint64_t padding[2];
};
static_assert(sizeof(Node) == 48, "small nodes of 48 bytes");

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

double ThreadCpuNs() {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

uint64_t Check(uint64_t key, uint64_t value) { return Mix(key ^ (value << 1)) | 1; }

// The field of /proc/self/smaps_rollup named `field` ("AnonHugePages:"), in KiB; 0 if absent.
uint64_t SmapsRollupKib(const char* field) {
  FILE* file = std::fopen("/proc/self/smaps_rollup", "r");
  if (file == nullptr) return 0;
  char line[256];
  uint64_t kib = 0;
  size_t length = std::strlen(field);
  while (std::fgets(line, sizeof(line), file) != nullptr) {
    if (std::strncmp(line, field, length) == 0) {
      kib = std::strtoull(line + length, nullptr, 10);
      break;
    }
  }
  std::fclose(file);
  return kib;
}

}  // namespace
}  // namespace bench
}  // namespace rseqmalloc

int main(int argc, char** argv) {
  using namespace rseqmalloc::bench;
  WorkloadOptions options = ParseWorkloadOptions(
      argc, argv, "random_access",
      "Build a hash table of 48-byte nodes (512 MiB x scale), look keys up at random.");
  const uint64_t nodes = ScaledCount(options, 512.0 * 1024 * 1024 / sizeof(Node), 1024);
  const uint64_t buckets = nodes / 2;
  const uint64_t lookups = nodes;
  CheckLog log;

  Node** table = static_cast<Node**>(std::calloc(buckets, sizeof(Node*)));
  if (table == nullptr) {
    log.Fail("calloc of the bucket array returned null", buckets * sizeof(Node*));
    return FinishWorkload("random_access", options, 0, log);
  }
  for (uint64_t i = 0; i < nodes; ++i) {
    Node* node = static_cast<Node*>(AllocateOrFail(log, sizeof(Node)));
    node->key = Mix(i + 1);
    node->value = i;
    node->check = Check(node->key, node->value);
    node->padding[0] = node->padding[1] = 0;
    Node*& head = table[node->key % buckets];
    node->next = head;
    head = node;
  }
  const uint64_t heap_kib = (nodes * sizeof(Node) + buckets * sizeof(Node*)) / 1024;
  const uint64_t anon_huge_kib = SmapsRollupKib("AnonHugePages:");

  // Random lookups of keys that are present: a chain walk from a random bucket.
  double start = ThreadCpuNs();
  uint64_t state = 12345, found = 0;
  for (uint64_t l = 0; l < lookups; ++l) {
    state = Mix(state + l);
    uint64_t i = state % nodes;
    uint64_t key = Mix(i + 1);
    for (Node* node = table[key % buckets]; node != nullptr; node = node->next) {
      if (node->key == key) {
        found += node->value == i;
        break;
      }
    }
  }
  double lookup_ns = (ThreadCpuNs() - start) / static_cast<double>(lookups);
  if (found != lookups) log.Fail("random_access: a key was not found or had the wrong value", sizeof(Node));

  // Every node intact, then freed.
  uint64_t seen = 0;
  for (uint64_t b = 0; b < buckets; ++b) {
    for (Node* node = table[b]; node != nullptr;) {
      Node* next = node->next;
      if (node->check != Check(node->key, node->value)) log.Fail("random_access: node changed", sizeof(Node));
      ++seen;
      std::free(node);
      node = next;
    }
  }
  std::free(table);
  if (seen != nodes) log.Fail("random_access: nodes lost from the table", sizeof(Node));

  char extra[200];
  std::snprintf(extra, sizeof(extra), "lookup_ns=%.1f heap_kib=%llu anon_huge_kib=%llu huge_pct=%.1f",
                lookup_ns, static_cast<unsigned long long>(heap_kib),
                static_cast<unsigned long long>(anon_huge_kib),
                100.0 * static_cast<double>(anon_huge_kib) / static_cast<double>(heap_kib));
  return FinishWorkload("random_access", options, nodes + lookups, log, extra);
}

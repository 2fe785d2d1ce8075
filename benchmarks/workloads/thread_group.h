// Runs one function on N threads and waits for all of them: the shape of every workload's main.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_THREAD_GROUP_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_THREAD_GROUP_H_

#include <thread>
#include <vector>

namespace rseqmalloc {
namespace bench {

// Calls body(t) on thread t for t in [0, threads) and joins them all.
template <typename Body>
void RunOnThreads(int threads, Body body) {
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) workers.emplace_back([&body, t] { body(t); });
  for (auto& worker : workers) worker.join();
}

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_THREAD_GROUP_H_

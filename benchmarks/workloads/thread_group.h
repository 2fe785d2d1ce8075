// Runs one function on N threads and waits for all of them: the shape of every workload's main;
// and a reusable barrier for workloads whose threads move through phases together.
#ifndef RSEQMALLOC_BENCHMARKS_WORKLOADS_THREAD_GROUP_H_
#define RSEQMALLOC_BENCHMARKS_WORKLOADS_THREAD_GROUP_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
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

// Steps every thread passes together, in order.
class Phases {
 public:
  explicit Phases(int parties) : parties_(parties) {}
  void ArriveAndWait() {
    std::unique_lock<std::mutex> guard(lock_);
    uint64_t generation = generation_;
    if (++arrived_ == parties_) {
      arrived_ = 0;
      ++generation_;
      changed_.notify_all();
      return;
    }
    changed_.wait(guard, [&] { return generation_ != generation; });
  }

 private:
  std::mutex lock_;
  std::condition_variable changed_;
  int parties_;
  int arrived_ = 0;
  uint64_t generation_ = 0;
};

}  // namespace bench
}  // namespace rseqmalloc

#endif  // RSEQMALLOC_BENCHMARKS_WORKLOADS_THREAD_GROUP_H_

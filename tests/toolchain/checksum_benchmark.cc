#include <vector>

#include "benchmark/benchmark.h"
#include "tests/toolchain/checksum.h"

static void BM_Adler32(benchmark::State& state) {
  std::vector<unsigned char> data(state.range(0), 7);
  for (auto _ : state) {
    benchmark::DoNotOptimize(rseqmalloc::toolchain::Adler32(data.data(), data.size()));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Adler32)->Arg(64)->Arg(4096);

#!/usr/bin/env bash
# The microbenchmark binary runs each benchmark for both allocators and reports a time for each.
set -euo pipefail
out=$("$1" --benchmark_min_time=0.001 --benchmark_format=csv \
      --benchmark_filter='BM_(MallocFree|NewSizedDelete)<.*>/64$|BM_CrossThreadHandoff<.*>/64|BM_RandomMix' 2>/dev/null)
for name in 'BM_MallocFree<RseqMalloc>/64' 'BM_MallocFree<SystemMalloc>/64' \
            'BM_NewSizedDelete<RseqMalloc>/64' 'BM_NewSizedDelete<SystemMalloc>/64' \
            'BM_RandomMix<RseqMalloc>/0' 'BM_RandomMix<SystemMalloc>/0' \
            'BM_CrossThreadHandoff<RseqMalloc>/64/real_time' 'BM_CrossThreadHandoff<SystemMalloc>/64/real_time'; do
  line=$(grep -F "\"$name\"," <<<"$out") || { echo "missing row $name in:"; echo "$out"; exit 1; }
  # Column 4 is real_time: a positive number.
  awk -F, '{ if (!($4 > 0)) { print "no time in: " $0; exit 1 } }' <<<"$line"
done
echo "all rows present"

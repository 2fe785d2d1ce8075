#!/usr/bin/env bash
# The benchmark binary links, runs and reports its benchmark.
set -euo pipefail
out=$("$1" --benchmark_min_time=0.01 --benchmark_format=csv 2>/dev/null)
grep -q '^"BM_Adler32/4096",' <<<"$out" || { echo "no BM_Adler32/4096 row in: $out"; exit 1; }

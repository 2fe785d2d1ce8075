#!/usr/bin/env bash
# Smoke test of the benchmark pipeline: the comparison runner, in its smallest mode, must run every
# workload under every installed allocator, get numbers for each (not judged: only present), see
# every workload's self-check pass, and write its table, CSV and plot, the fast-path table with its
# floor row, and the per-peer and workload-specific tables.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bazel build --ui_event_filters=-info --noshow_progress \
  //allocator:librseqmalloc.so //benchmarks/workloads //benchmarks/probe:rseq_status_probe //benchmarks/probe:measured_exec \
  //benchmarks/micro:alloc_microbenchmark //benchmarks/fast_path:all
bin_dir="$(bazel info bazel-bin 2>/dev/null)"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

status=0
/usr/bin/python3 benchmarks/compare.py --bin-dir "$bin_dir" --out "$out" --quick --runs 1 \
  --scale 0.05 --idle 0.1 --micro-filter 'BM_MallocFree<.*>/64$' >"$out/log" 2>&1 || status=$?
if ((status != 0)); then
  tail -40 "$out/log"
  echo "benchmark_smoke: the runner failed (exit $status)"
  exit 1
fi

/usr/bin/python3 - "$out" <<'PY'
import csv, os, sys
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "results.csv"))))
workloads = {r["workload"] for r in rows}
allocators = {r["allocator"] for r in rows}
problems = []
log = open(os.path.join(out, "log")).read()
expected = 14 if "skipped stress_ng_malloc" not in log else 13
if len(workloads) < expected:
    problems.append(f"only {len(workloads)} workloads: {sorted(workloads)}")
for needed in ("rseqmalloc", "rseqmalloc-own", "glibc"):
    if needed not in allocators:
        problems.append(f"no rows for {needed}")
for name in ("jemalloc", "tcmalloc", "mimalloc"):
    if name not in allocators and f"skipped {name}" not in log:
        problems.append(f"{name} neither measured nor reported as skipped")
for r in rows:
    where = f"{r['workload']} / {r['allocator']}"
    if r["status"] != "ok":
        problems.append(f"{where}: {r['status']}")
    for field in ("wall_s_median", "cpu_s_median", "peak_rss_kib_median", "wall_vs_best_peer",
                  "peak_rss_vs_best_peer"):
        try:
            if not float(r[field]) > 0:
                raise ValueError
        except ValueError:
            problems.append(f"{where}: no number in {field} ({r[field]!r})")
    if r["workload"] == "memory_return" and not r["rss_after_idle_kib_median"]:
        problems.append(f"{where}: no RSS after idle")
svg = open(os.path.join(out, "comparison.svg")).read()
if not svg.startswith("<svg") or not svg.rstrip().endswith("</svg>"):
    problems.append("comparison.svg is not a complete SVG")
micro = open(os.path.join(out, "microbenchmarks.csv")).read().splitlines()
if len(micro) < 2 or micro[1].split(",")[1] in ("", "-"):
    problems.append(f"microbenchmark rows missing: {micro}")
markdown = open(os.path.join(out, "results.md")).read()
if "rseq" not in markdown:
    problems.append("results.md does not state the rseq status")
for section in ("Peak RSS of rseqmalloc divided by each peer", "% of heap in hugepages",
                "Single-thread fast path"):
    if section not in markdown:
        problems.append(f"results.md has no '{section}'")
fast = list(csv.DictReader(open(os.path.join(out, "fast_path.csv"))))
for name in ("floor", "rseqmalloc", "rseqmalloc-own", "glibc"):
    mine = [r for r in fast if r["allocator"] == name]
    if len(mine) < 6 or not all(float(r["ns_median"]) > 0 for r in mine):
        problems.append(f"fast_path.csv: no full set of rows for {name}")
    if name != "floor" and not all(float(r["vs_floor"]) > 0 for r in mine):
        problems.append(f"fast_path.csv: {name} has no ratio to the floor")
for p in problems:
    print("benchmark_smoke: " + p)
print(f"benchmark_smoke: {len(rows)} rows, {len(workloads)} workloads x {len(allocators)} allocators, "
      f"{len(problems)} problems")
sys.exit(1 if problems else 0)
PY

"""The single-thread fast path of every allocator, measured the same way for all of them.

The microbenchmark binary's SystemMalloc rows call plain malloc/free (and new/sized delete), so
under LD_PRELOAD they measure whichever allocator is preloaded, rseqmalloc included. Runs are
interleaved allocator by allocator, round by round; the table gives the median ns per pair and
each allocator's ratio to the fastest peer for that size."""

import json
import os
import statistics
import subprocess
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

SIZES = (16, 64, 256, 1024, 8192)
FILTER = "BM_MallocFree<SystemMalloc>/(" + "|".join(str(s) for s in SIZES) + ")$"


def parse(benchmarks: List[dict]) -> Dict[int, float]:
    """ns per malloc+free pair for each size, from Google Benchmark's JSON rows."""
    out = {}
    for entry in benchmarks:
        name = entry.get("name", "")
        if not name.startswith("BM_MallocFree<SystemMalloc>/"):
            continue
        size = int(name.rsplit("/", 1)[1])
        if entry.get("items_per_second"):
            out[size] = 1e9 / entry["items_per_second"]
    return out


def run_once(binary: str, env: Dict[str, str], min_time: float) -> Dict[int, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([binary, f"--benchmark_filter={FILTER}", f"--benchmark_min_time={min_time:g}",
                        f"--benchmark_out={out.name}", "--benchmark_out_format=json"],
                       env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(out.name) as f:
            return parse(json.load(f)["benchmarks"])


def medians(samples: Dict[str, List[Dict[int, float]]]) -> Dict[str, Dict[int, float]]:
    return {name: {size: statistics.median(run[size] for run in runs if size in run)
                   for size in SIZES if any(size in run for run in runs)}
            for name, runs in samples.items() if runs}


def measure(binary: str, allocators, base_env: Dict[str, str], rounds: int,
            min_time: float) -> Dict[str, Dict[int, float]]:
    """allocators: objects with .name and .environment(base_env) (see allocators.py)."""
    samples: Dict[str, List[Dict[int, float]]] = {a.name: [] for a in allocators}
    for _ in range(rounds):
        for allocator in allocators:
            samples[allocator.name].append(run_once(binary, allocator.environment(base_env), min_time))
    return medians(samples)


def rows(results: Dict[str, Dict[int, float]], peers: Sequence[str]) -> List[Tuple[str, ...]]:
    """One row per allocator: ns per size, then its worst ratio to the fastest peer."""
    best = {size: min((results[p][size] for p in peers if size in results.get(p, {})), default=None)
            for size in SIZES}
    table = []
    for name, values in results.items():
        cells = [name] + [f"{values[s]:.1f}" if s in values else "-" for s in SIZES]
        ratios = [values[s] / best[s] for s in SIZES if s in values and best[s]]
        cells.append(f"{max(ratios):.2f}x" if ratios else "-")
        table.append(tuple(cells))
    return table


HEADER = ("allocator",) + tuple(f"{s} B" for s in SIZES) + ("worst vs fastest peer",)


def markdown_table(table: List[Tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|:--" + "|--:" * (len(HEADER) - 1) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in table]
    return "\n".join(lines)


def text_table(table: List[Tuple[str, ...]]) -> str:
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in table)) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths)))
                     for cells in [HEADER] + table)

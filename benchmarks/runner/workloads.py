"""The workload programs (benchmarks/workloads, plus stress-ng's malloc stressor where installed)
and how the runner invokes them."""

import dataclasses
import os
import shutil
from typing import Callable, List, Optional, Tuple


def _stress_ng_malloc(tool: str, scale: float) -> List[str]:
    # Two workers of stress-ng's malloc stressor (random blocks up to 32 MiB, realloc, free), a
    # fixed number of operations (10000 x scale per worker). No time limit of its own (-t 0), which
    # would end the run early with less work done and still report success: the runner's --timeout
    # is the limit, and a run that reaches it fails. It prints no RESULT line: a successful exit
    # is its check.
    ops = max(200, int(10000 * scale))
    command = (f"{tool} --malloc 2 --malloc-bytes 32M --malloc-ops {ops} -t 0 -q "
               "&& echo RESULT workload=stress_ng_malloc check=ok")
    return ["/bin/sh", "-c", command]


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    stresses: str
    # Single-threaded workloads always run with one thread.
    single_threaded: bool = False
    # Idle period matters (it is part of what is measured).
    uses_idle: bool = False
    # Threaded workloads whose wall time swings with the machine's load: more runs in full mode.
    noisy: bool = False
    # Runs with this many threads whatever --threads says (the many-threads workload).
    fixed_threads: Optional[int] = None
    # Quick mode multiplies the work scale by this (a big heap would not fit its time budget).
    quick_scale_factor: float = 1.0
    # Fields of the RESULT line reported in the workload-specific table, with their titles.
    extra_metrics: Tuple[Tuple[str, str], ...] = ()
    # An installed program instead of one of ours: (Debian package, executable, command builder).
    tool: Optional[Tuple[str, str, Callable[[str, float], List[str]]]] = None

    def binary(self, bin_dir: str) -> str:
        if self.tool:
            return shutil.which(self.tool[1]) or self.tool[1]
        return os.path.join(bin_dir, "benchmarks", "workloads", self.name)

    def scale_in(self, mode: str, scale: float) -> float:
        return scale * (self.quick_scale_factor if mode == "quick" else 1.0)

    def command(self, bin_dir: str, threads: int, scale: float, idle: float) -> List[str]:
        if self.tool:
            return self.tool[2](self.binary(bin_dir), scale)
        threads = 1 if self.single_threaded else (self.fixed_threads or threads)
        return [self.binary(bin_dir), "--threads", str(threads), "--scale", f"{scale:g}",
                "--idle", f"{idle:g}"]


MANY_THREADS = 256

WORKLOADS = [
    Workload("larson", "server churn, frees by later threads", noisy=True),
    Workload("xmalloc", "producer/consumer, every free remote", noisy=True),
    Workload("cache_scratch", "passive false sharing", noisy=True),
    Workload("cache_thrash", "active false sharing", noisy=True),
    Workload("mstress", "thread churn with surviving objects", noisy=True),
    Workload("shbench", "LIFO/FIFO batch frees, cross-thread"),
    Workload("alloc_test", "Pareto-sized random replacement"),
    Workload("many_threads", f"{MANY_THREADS} threads on 2 CPUs holding working sets",
             noisy=True, fixed_threads=MANY_THREADS),
    Workload("interpreter", "single-threaded strings, dicts, trees", single_threaded=True),
    Workload("random_access", "big hash table of small nodes, random lookups (hugepages)",
             single_threaded=True, quick_scale_factor=1 / 3,
             extra_metrics=(("lookup_ns", "ns per lookup"), ("huge_pct", "% of heap in hugepages"))),
    Workload("large_blocks", "1-32 MiB blocks allocated, touched, freed", single_threaded=True),
    Workload("fixed_cost", "a small program: start-up footprint", single_threaded=True),
    Workload("memory_return", "grow, free 90%, idle: RSS returned", uses_idle=True),
    Workload("stress_ng_malloc", "stress-ng --malloc 2 (blocks up to 32 MiB)",
             tool=("stress-ng", "stress-ng", _stress_ng_malloc)),
]


def select(wanted: Optional[List[str]]) -> List[Workload]:
    if not wanted:
        return list(WORKLOADS)
    by_name = {w.name: w for w in WORKLOADS}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)} (known: {', '.join(by_name)})")
    return [by_name[name] for name in wanted]


def available(chosen: List[Workload], bin_dir: str) -> Tuple[List[Workload], List[str], List[str]]:
    """(workloads to run, missing binaries of our own, notes on skipped installed programs)."""
    runnable, missing, notes = [], [], []
    for workload in chosen:
        path = workload.binary(bin_dir)
        if os.path.exists(path):
            runnable.append(workload)
        elif workload.tool:
            notes.append(f"skipped {workload.name}: {workload.tool[1]} not found "
                         f"(install {workload.tool[0]}: tools/bootstrap.sh bench)")
        else:
            missing.append(path)
    return runnable, missing, notes

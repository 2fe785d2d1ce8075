"""The workload programs (benchmarks/workloads) and how the runner invokes them."""

import dataclasses
import os
from typing import List, Optional


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    stresses: str
    # Single-threaded workloads always run with one thread.
    single_threaded: bool = False
    # Idle period matters (it is part of what is measured).
    uses_idle: bool = False

    def binary(self, bin_dir: str) -> str:
        return os.path.join(bin_dir, "benchmarks", "workloads", self.name)

    def command(self, bin_dir: str, threads: int, scale: float, idle: float) -> List[str]:
        return [self.binary(bin_dir), "--threads", str(1 if self.single_threaded else threads),
                "--scale", f"{scale:g}", "--idle", f"{idle:g}"]


WORKLOADS = [
    Workload("larson", "server churn, frees by later threads"),
    Workload("xmalloc", "producer/consumer, every free remote"),
    Workload("cache_scratch", "passive false sharing"),
    Workload("cache_thrash", "active false sharing"),
    Workload("mstress", "thread churn with surviving objects"),
    Workload("shbench", "LIFO/FIFO batch frees, cross-thread"),
    Workload("alloc_test", "Pareto-sized random replacement"),
    Workload("interpreter", "single-threaded strings, dicts, trees", single_threaded=True),
    Workload("memory_return", "grow, free 90%, idle: RSS returned", uses_idle=True),
]


def select(wanted: Optional[List[str]]) -> List[Workload]:
    if not wanted:
        return list(WORKLOADS)
    by_name = {w.name: w for w in WORKLOADS}
    unknown = [name for name in wanted if name not in by_name]
    if unknown:
        raise SystemExit(f"unknown workload(s) {', '.join(unknown)} (known: {', '.join(by_name)})")
    return [by_name[name] for name in wanted]

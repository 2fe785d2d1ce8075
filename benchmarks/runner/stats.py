"""Medians over runs and ratios to the best peer."""

import dataclasses
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from . import measure

# Metrics summarized per (workload, allocator); the last comes from the workload's RESULT line.
METRICS = ("wall_s", "cpu_s", "peak_rss_kib", "rss_after_idle_kib")


@dataclasses.dataclass
class Summary:
    workload: str
    allocator: str
    is_peer: bool
    runs: int
    failures: List[str]
    medians: Dict[str, Optional[float]]
    spread: Dict[str, Tuple[float, float]]  # (min, max) over runs
    ratios: Dict[str, Optional[float]] = dataclasses.field(default_factory=dict)
    best_peer: Dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures and self.runs > 0


def metric_value(m: measure.Measurement, metric: str) -> Optional[float]:
    if metric == "wall_s":
        return m.wall_s
    if metric == "cpu_s":
        return m.cpu_s
    if metric == "peak_rss_kib":
        return float(m.peak_rss_kib)
    return measure.result_number(m, metric)


def summarize(workload: str, allocator: str, is_peer: bool, runs: Sequence[measure.Measurement],
              extra_metrics: Sequence[str] = ()) -> Summary:
    """Medians (and spreads) of METRICS and of the workload's own RESULT fields in extra_metrics."""
    failures = [m.error for m in runs if not m.ok]
    good = [m for m in runs if m.ok]
    medians: Dict[str, Optional[float]] = {}
    spread: Dict[str, Tuple[float, float]] = {}
    for metric in tuple(METRICS) + tuple(extra_metrics):
        values = [v for v in (metric_value(m, metric) for m in good) if v is not None]
        medians[metric] = statistics.median(values) if values else None
        if values:
            spread[metric] = (min(values), max(values))
    return Summary(workload, allocator, is_peer, len(runs), failures, medians, spread)


def add_ratios(summaries: List[Summary]) -> None:
    """For each workload and metric, divides every allocator's median by the best (lowest) median
    among the peers that passed; the best peer gets 1.0, lower than 1.0 beats every peer."""
    by_workload: Dict[str, List[Summary]] = {}
    for s in summaries:
        by_workload.setdefault(s.workload, []).append(s)
    for group in by_workload.values():
        for metric in METRICS:
            peers = [s for s in group if s.is_peer and s.ok and s.medians.get(metric)]
            best = min(peers, key=lambda s: s.medians[metric], default=None)
            for s in group:
                value = s.medians.get(metric)
                if best is None or value is None or not s.ok:
                    s.ratios[metric] = None
                    continue
                s.ratios[metric] = value / best.medians[metric]
                s.best_peer[metric] = best.allocator


def versus_each_peer(summaries: Sequence[Summary], metric: str,
                     allocators: Sequence[str]) -> List[Tuple[str, str, Dict[str, Optional[float]]]]:
    """For each workload and each of `allocators`: its median divided by each peer's median
    (not only the best peer's), e.g. rseqmalloc's peak RSS as a fraction of every peer's."""
    out = []
    by_key = {(s.workload, s.allocator): s for s in summaries}
    workloads = list(dict.fromkeys(s.workload for s in summaries))
    peers = list(dict.fromkeys(s.allocator for s in summaries if s.is_peer))
    for workload in workloads:
        for name in allocators:
            mine = by_key.get((workload, name))
            if mine is None or not mine.ok or not mine.medians.get(metric):
                continue
            ratios: Dict[str, Optional[float]] = {}
            for peer in peers:
                other = by_key.get((workload, peer))
                ok = other is not None and other.ok and other.medians.get(metric)
                ratios[peer] = mine.medians[metric] / other.medians[metric] if ok else None
            out.append((workload, name, ratios))
    return out


def geometric_mean(values: Sequence[float]) -> Optional[float]:
    values = [v for v in values if v and v > 0]
    return statistics.geometric_mean(values) if values else None

"""The summary as a text table (printed), CSV and Markdown (written to the output directory)."""

import csv
import os
from typing import Dict, List, Optional, Sequence, Tuple

from . import tables
from .stats import Summary, geometric_mean, versus_each_peer


def _seconds(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def _mib(value: Optional[float]) -> str:
    return "-" if value is None else f"{value / 1024:.1f}"


def _ratio(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}x"


HEADER = ("workload", "allocator", "wall s", "vs best", "cpu s", "vs best", "peak RSS MiB",
          "vs best", "RSS after idle MiB", "status")


def rows(summaries: Sequence[Summary]) -> List[Tuple[str, ...]]:
    table = []
    for s in summaries:
        status = "ok" if s.ok else "FAILED: " + s.failures[0][:80]
        table.append((s.workload, s.allocator, _seconds(s.medians["wall_s"]), _ratio(s.ratios.get("wall_s")),
                      _seconds(s.medians["cpu_s"]), _ratio(s.ratios.get("cpu_s")),
                      _mib(s.medians["peak_rss_kib"]), _ratio(s.ratios.get("peak_rss_kib")),
                      _mib(s.medians["rss_after_idle_kib"]), status))
    return table


def geomean_rows(summaries: Sequence[Summary], allocators: Sequence[str]) -> List[Tuple[str, ...]]:
    """One line per allocator: geometric mean of its ratios over the workloads."""
    table = []
    for name in allocators:
        mine = [s for s in summaries if s.allocator == name]
        wall = geometric_mean([s.ratios.get("wall_s") for s in mine])
        cpu = geometric_mean([s.ratios.get("cpu_s") for s in mine])
        rss = geometric_mean([s.ratios.get("peak_rss_kib") for s in mine])
        table.append(("geomean", name, "", _ratio(wall), "", _ratio(cpu), "", _ratio(rss), "", ""))
    return table


def text_table(table: Sequence[Sequence[str]]) -> str:
    widths = [max(len(HEADER[i]), *(len(row[i]) for row in table)) for i in range(len(HEADER))]
    def line(cells):
        return "  ".join(c.ljust(w) if i < 2 or i == len(cells) - 1 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    out = [line(HEADER), line(["-" * w for w in widths])]
    previous = None
    for row in table:
        if previous is not None and row[0] != previous:
            out.append("")
        out.append(line(row))
        previous = row[0]
    return "\n".join(out)


def markdown_table(table: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(HEADER) + " |",
           "|" + "|".join(":--" if i < 2 or i == len(HEADER) - 1 else "--:"
                          for i in range(len(HEADER))) + "|"]
    for row in table:
        out.append("| " + " | ".join(c.replace("|", "/") for c in row) + " |")
    return "\n".join(out)


CSV_FIELDS = ("workload", "allocator", "is_peer", "runs", "failed_runs", "status",
              "wall_s_median", "wall_s_min", "wall_s_max", "wall_vs_best_peer",
              "cpu_s_median", "cpu_vs_best_peer",
              "peak_rss_kib_median", "peak_rss_vs_best_peer",
              "rss_after_idle_kib_median", "rss_after_idle_vs_best_peer",
              "best_peer_wall", "best_peer_peak_rss")


def _num(value: Optional[float], digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def write_csv(path: str, summaries: Sequence[Summary]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for s in summaries:
            wall_spread = s.spread.get("wall_s", (None, None))
            writer.writerow([
                s.workload, s.allocator, int(s.is_peer), s.runs, len(s.failures),
                "ok" if s.ok else "FAILED: " + s.failures[0],
                _num(s.medians["wall_s"]), _num(wall_spread[0]), _num(wall_spread[1]),
                _num(s.ratios.get("wall_s")),
                _num(s.medians["cpu_s"]), _num(s.ratios.get("cpu_s")),
                _num(s.medians["peak_rss_kib"], 0), _num(s.ratios.get("peak_rss_kib")),
                _num(s.medians["rss_after_idle_kib"], 0), _num(s.ratios.get("rss_after_idle_kib")),
                s.best_peer.get("wall_s", ""), s.best_peer.get("peak_rss_kib", ""),
            ])


def versus_each_peer_table(summaries: Sequence[Summary], metric: str,
                           allocators: Sequence[str]) -> Tuple[Tuple[str, ...], List[Tuple[str, ...]]]:
    """(header, rows): each of `allocators` divided by every peer, per workload, and the geometric
    mean over the workloads."""
    entries = versus_each_peer(summaries, metric, allocators)
    peers = list(dict.fromkeys(p for _, _, ratios in entries for p in ratios))
    header = ("workload", "allocator") + tuple(f"/ {p}" for p in peers)
    rows = [(w, a) + tuple(_ratio(r[p]) for p in peers) for w, a, r in entries]
    for name in allocators:
        mine = [r for _, a, r in entries if a == name]
        if mine:
            rows.append(("geomean", name) + tuple(_ratio(geometric_mean([r[p] for r in mine]))
                                                  for p in peers))
    return header, rows


def extra_metrics_table(summaries: Sequence[Summary], workloads) -> Tuple[Tuple[str, ...], List[Tuple[str, ...]]]:
    """(header, rows): the medians of each workload's own RESULT fields (workload.extra_metrics),
    one column per allocator."""
    names = list(dict.fromkeys(s.allocator for s in summaries))
    by_key = {(s.workload, s.allocator): s for s in summaries}
    rows = []
    for workload in workloads:
        for key, title in workload.extra_metrics:
            cells = []
            for name in names:
                s = by_key.get((workload.name, name))
                value = s.medians.get(key) if s is not None and s.ok else None
                cells.append("-" if value is None else f"{value:.1f}")
            rows.append((workload.name, title) + tuple(cells))
    return ("workload", "median of") + tuple(names), rows


def write_markdown(path: str, title: str, facts: Sequence[Tuple[str, str]], notes: Sequence[str],
                   settings: str, table: Sequence[Sequence[str]], plot_file: Optional[str],
                   sections: Sequence[Tuple[str, str]]) -> None:
    """sections: (heading, Markdown body) pairs written after the main table and the plot."""
    lines = [f"# {title}", ""]
    lines += [f"* **{key}**: {value}" for key, value in facts]
    lines += ["", settings, ""]
    lines += [f"> {note}" for note in notes]
    if notes:
        lines.append("")
    lines += ["Medians over the runs; *vs best* divides by the best (lowest) median among the peers "
              "(glibc, jemalloc, tcmalloc, mimalloc): 1.00x is the best peer, below 1 beats all of them. "
              "*cpu s* is user + system time of all threads, beside the wall time: on a busy machine "
              "wall time of threaded workloads swings with the load, CPU time much less.",
              "", markdown_table(table), ""]
    if plot_file:
        lines += [f"![time and peak RSS relative to the best peer]({os.path.basename(plot_file)})", ""]
    for heading, body in sections:
        lines += [f"## {heading}", "", body, ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def read_baseline(path: str) -> Dict[Tuple[str, str], Dict[str, float]]:
    """The medians of an earlier run's results.csv, by (workload, allocator)."""
    out: Dict[Tuple[str, str], Dict[str, float]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            values = {}
            for metric in ("wall_s", "cpu_s", "peak_rss_kib"):
                try:
                    values[metric] = float(row[f"{metric}_median"])
                except (KeyError, ValueError):
                    pass
            out[(row["workload"], row["allocator"])] = values
    return out


BASELINE_METRICS = (("wall_s", "wall"), ("cpu_s", "cpu"), ("peak_rss_kib", "peak RSS"))


def versus_baseline_table(summaries: Sequence[Summary], baseline: Dict[Tuple[str, str], Dict[str, float]],
                          allocators: Sequence[str]) -> Tuple[Tuple[str, ...], List[Tuple[str, ...]]]:
    """(header, rows): this run's medians divided by the baseline's, per workload, for each of
    `allocators` (above 1: worse than before), and the geometric mean over the workloads."""
    header = ("workload", "allocator") + tuple(f"{title} / baseline" for _, title in BASELINE_METRICS)
    rows: List[Tuple[str, ...]] = []
    per_allocator: Dict[str, Dict[str, List[float]]] = {}
    for s in summaries:
        before = baseline.get((s.workload, s.allocator))
        if s.allocator not in allocators or not s.ok or not before:
            continue
        cells = []
        for metric, _ in BASELINE_METRICS:
            now, then = s.medians.get(metric), before.get(metric)
            ratio = now / then if now and then else None
            cells.append(_ratio(ratio))
            if ratio:
                per_allocator.setdefault(s.allocator, {}).setdefault(metric, []).append(ratio)
        rows.append((s.workload, s.allocator) + tuple(cells))
    for name in allocators:
        if name in per_allocator:
            rows.append(("geomean", name) + tuple(
                _ratio(geometric_mean(per_allocator[name].get(metric, []))) for metric, _ in BASELINE_METRICS))
    return header, rows

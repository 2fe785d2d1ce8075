"""Draws the comparison as an SVG by hand: one panel for wall time, one for peak RSS, each
allocator's median relative to the best peer on a log scale. Bars grow from 1.0 (the best peer)
to the left when an allocator beats every peer and to the right when it is worse, so the eye reads
"how much better or worse than the best alternative" directly."""

import math
from typing import Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

from .stats import Summary

COLORS = {
    "rseqmalloc": "#d9480f",
    "rseqmalloc-own": "#f08c00",
    "glibc": "#868e96",
    "jemalloc": "#1c7ed6",
    "tcmalloc": "#2f9e44",
    "mimalloc": "#7048e8",
}
FALLBACK_COLORS = ["#c2255c", "#0c8599", "#5c940d", "#e67700"]

FONT = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""
WIDTH = 1280
LABEL_WIDTH = 250
PANEL_GAP = 40
MARGIN = 24
BAR = 11
BAR_GAP = 3
GROUP_PAD = 14


def _text(x, y, text, size=12, anchor="start", weight="normal", fill="#212529", extra=""):
    return (f"<text x=\"{x:.1f}\" y=\"{y:.1f}\" {FONT} font-size=\"{size}\" text-anchor=\"{anchor}\" "
            f"font-weight=\"{weight}\" fill=\"{fill}\" {extra}>{escape(text)}</text>")


def _fmt_value(metric: str, value: float) -> str:
    if metric.endswith("_kib"):
        mib = value / 1024
        return f"{mib:.0f} MiB" if mib >= 100 else f"{mib:.1f} MiB"
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


class _Axis:
    """Log2 axis from lo to hi (powers of two) mapped onto [x0, x1]."""

    def __init__(self, ratios: Sequence[float], x0: float, x1: float):
        finite = [r for r in ratios if r and r > 0]
        self.lo = 2.0 ** math.floor(math.log2(min(finite + [0.8])) - 0.15)
        self.hi = 2.0 ** math.ceil(math.log2(max(finite + [1.25])) + 0.15)
        self.x0, self.x1 = x0, x1

    def x(self, ratio: float) -> float:
        ratio = min(max(ratio, self.lo), self.hi)
        span = math.log2(self.hi) - math.log2(self.lo)
        return self.x0 + (math.log2(ratio) - math.log2(self.lo)) / span * (self.x1 - self.x0)

    def ticks(self) -> List[float]:
        ticks, t = [], self.lo
        while t <= self.hi * 1.0001:
            ticks.append(t)
            t *= 2
        return ticks


def _tick_label(t: float) -> str:
    return f"{t:g}x" if t >= 1 else f"1/{1 / t:g}x"


# A row of the plot: a label, and per panel the metric drawn (None leaves the panel empty).
Row = Tuple[str, str, Optional[str], Optional[str]]


def render(summaries: Sequence[Summary], allocators: Sequence[str], title: str,
           subtitle_lines: Sequence[str]) -> str:
    workloads: List[str] = []
    for s in summaries:
        if s.workload not in workloads:
            workloads.append(s.workload)
    by_key: Dict[Tuple[str, str], Summary] = {(s.workload, s.allocator): s for s in summaries}
    rows: List[Row] = [(w, w, "wall_s", "peak_rss_kib") for w in workloads]
    if any(s.medians.get("rss_after_idle_kib") for s in summaries):
        for w in workloads:
            if any(by_key.get((w, a)) and by_key[(w, a)].medians.get("rss_after_idle_kib")
                   for a in allocators):
                rows.append((w, f"{w}: RSS after idle", None, "rss_after_idle_kib"))

    colors = dict(COLORS)
    for i, name in enumerate(a for a in allocators if a not in colors):
        colors[name] = FALLBACK_COLORS[i % len(FALLBACK_COLORS)]

    panel_width = (WIDTH - 2 * MARGIN - LABEL_WIDTH - PANEL_GAP) / 2
    panels = [("Wall time", "wall_s", MARGIN + LABEL_WIDTH),
              ("Peak RSS", "peak_rss_kib", MARGIN + LABEL_WIDTH + panel_width + PANEL_GAP)]
    axes = {}
    for index, (_, metric, x0) in enumerate(panels):
        ratios = [s.ratios.get(m) for s in summaries for r in rows
                  for m in [r[2 + index]] if m and s.workload == r[0] and s.ratios.get(m)]
        axes[index] = _Axis(ratios, x0 + 8, x0 + panel_width - 48)

    header = 92 + 18 * len(subtitle_lines)
    group_height = len(allocators) * (BAR + BAR_GAP) - BAR_GAP + 2 * GROUP_PAD
    plot_top = header + 40
    height = plot_top + group_height * len(rows) + 60
    out = [f"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" "
           f"viewBox=\"0 0 {WIDTH} {height}\">",
           f"<rect width=\"{WIDTH}\" height=\"{height}\" fill=\"white\"/>",
           _text(MARGIN, 34, title, 20, weight="bold")]
    for i, line in enumerate(subtitle_lines):
        out.append(_text(MARGIN, 58 + 18 * i, line, 12, fill="#495057"))

    # Legend.
    x = MARGIN
    legend_y = header + 4
    for name in allocators:
        out.append(f"<rect x=\"{x}\" y=\"{legend_y - 11}\" width=\"14\" height=\"14\" rx=\"2\" "
                   f"fill=\"{colors[name]}\"/>")
        out.append(_text(x + 20, legend_y + 1, name, 13))
        x += 34 + 8 * len(name)
    out.append(_text(WIDTH - MARGIN, legend_y + 1, "1x = best peer (glibc, jemalloc, tcmalloc, "
                     "mimalloc) per workload; left of 1x beats every peer; log scale", 11,
                     anchor="end", fill="#495057"))

    bottom = plot_top + group_height * len(rows)
    for index, (name, metric, x0) in enumerate(panels):
        axis = axes[index]
        out.append(_text(x0 + panel_width / 2, plot_top - 14, f"{name} relative to the best peer",
                         14, anchor="middle", weight="bold"))
        # The better-than-every-peer side gets a faint tint.
        out.append(f"<rect x=\"{axis.x0:.1f}\" y=\"{plot_top}\" width=\"{axis.x(1) - axis.x0:.1f}\" "
                   f"height=\"{bottom - plot_top}\" fill=\"#ebfbee\"/>")
        for tick in axis.ticks():
            tx = axis.x(tick)
            out.append(f"<line x1=\"{tx:.1f}\" y1=\"{plot_top}\" x2=\"{tx:.1f}\" y2=\"{bottom}\" "
                       f"stroke=\"{'#343a40' if tick == 1 else '#dee2e6'}\" "
                       f"stroke-width=\"{1.5 if tick == 1 else 1}\"/>")
            out.append(_text(tx, bottom + 16, _tick_label(tick), 11, anchor="middle", fill="#495057"))
        out.append(_text(axis.x0, bottom + 34, "better", 11, fill="#2b8a3e"))
        out.append(_text(axis.x1, bottom + 34, "worse", 11, anchor="end", fill="#c92a2a"))

    for r, (workload, label, *metrics) in enumerate(rows):
        top = plot_top + r * group_height
        if r % 2 == 1:
            out.append(f"<rect x=\"{MARGIN}\" y=\"{top}\" width=\"{WIDTH - 2 * MARGIN}\" "
                       f"height=\"{group_height}\" fill=\"#f8f9fa\" fill-opacity=\"0.7\"/>")
        out.append(_text(MARGIN, top + GROUP_PAD + 12, label, 14, weight="bold"))
        info_y = top + GROUP_PAD + 30
        for index, metric in enumerate(metrics):
            if metric is None:
                continue
            best = next((s for s in summaries if s.workload == workload and s.best_peer.get(metric)
                         and s.allocator == s.best_peer[metric]), None)
            if best is not None:
                what = "time" if metric == "wall_s" else "RSS"
                out.append(_text(MARGIN, info_y, f"best {what}: {best.allocator} "
                                 f"{_fmt_value(metric, best.medians[metric])}", 11, fill="#495057"))
                info_y += 15
        for index, metric in enumerate(metrics):
            axis = axes[index]
            if metric is None:
                continue
            for a, name in enumerate(allocators):
                y = top + GROUP_PAD + a * (BAR + BAR_GAP)
                s = by_key.get((workload, name))
                if s is None:
                    continue
                ratio = s.ratios.get(metric)
                if not s.ok:
                    out.append(_text(axis.x(1) + 6, y + BAR - 1, f"{name}: FAILED", 10,
                                     weight="bold", fill="#c92a2a"))
                    continue
                if ratio is None:
                    continue
                x1, xr = axis.x(1), axis.x(ratio)
                left, width = min(x1, xr), abs(xr - x1)
                if width < 2:  # the best peer itself: a short mark on the 1x line
                    left, width = x1 - 1.5, 3
                out.append(f"<rect x=\"{left:.1f}\" y=\"{y}\" width=\"{width:.1f}\" height=\"{BAR}\" "
                           f"rx=\"1.5\" fill=\"{colors[name]}\"><title>{escape(name)} {escape(workload)}: "
                           f"{_fmt_value(metric, s.medians[metric])} ({ratio:.2f}x)</title></rect>")
                clipped = ratio > axis.hi or ratio < axis.lo
                label = f"{ratio:.2f}" + ("+" if clipped else "")
                if xr >= x1:
                    out.append(_text(left + width + 4, y + BAR - 1.5, label, 10, fill="#343a40"))
                else:
                    out.append(_text(left - 4, y + BAR - 1.5, label, 10, anchor="end", fill="#343a40"))
    out.append("</svg>")
    return "\n".join(out) + "\n"

"""Draws the comparison as an SVG by hand: one panel for wall time, one for peak RSS, each
allocator's median relative to the best peer on a log scale. Bars grow from 1x (the best peer) to
the left when an allocator beats every peer and to the right when it is worse, so the eye reads
"how much better or worse than the best alternative" directly; a thin whisker spans the fastest to
the slowest run, so noise is visible next to the difference it might explain."""

import dataclasses
import math
from typing import Dict, List, Optional, Sequence, Tuple
from xml.sax.saxutils import escape

from .stats import Summary, geometric_mean

COLORS = {
    "rseqmalloc": "#d9480f",
    "rseqmalloc-own": "#f59f00",
    "glibc": "#868e96",
    "jemalloc": "#1c7ed6",
    "tcmalloc": "#2f9e44",
    "mimalloc": "#7048e8",
}
FALLBACK_COLORS = ["#c2255c", "#0c8599", "#5c940d", "#e67700"]

FONT = 'font-family="DejaVu Sans, Helvetica, Arial, sans-serif"'
WIDTH = 1280
MARGIN = 24
LABEL_WIDTH = 230
PANEL_GAP = 36
BAR = 11
BAR_GAP = 3
GROUP_PAD = 12
GEOMEAN = "all workloads"


@dataclasses.dataclass
class Bar:
    ratio: Optional[float]
    low: Optional[float] = None   # ratio of the best run
    high: Optional[float] = None  # ratio of the worst run
    failed: bool = False
    tooltip: str = ""


@dataclasses.dataclass
class Row:
    label: str
    notes: List[str]
    # Per panel: allocator -> Bar, or None when the row has nothing in that panel.
    panels: List[Optional[Dict[str, Bar]]]


def _text(x, y, text, size=12, anchor="start", weight="normal", fill="#212529", style="normal"):
    return (f'<text x="{x:.1f}" y="{y:.1f}" {FONT} font-size="{size}" text-anchor="{anchor}" '
            f'font-weight="{weight}" font-style="{style}" fill="{fill}">{escape(text)}</text>')


def _fmt_value(metric: str, value: float) -> str:
    if metric.endswith("_kib"):
        mib = value / 1024
        return f"{mib:.0f} MiB" if mib >= 100 else f"{mib:.1f} MiB"
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"


class _Axis:
    """Log axis covering every ratio drawn (always including 1/1.25x to 1.25x), mapped onto
    [x0, x1], with ticks at powers of two."""

    def __init__(self, ratios: Sequence[float], x0: float, x1: float):
        finite = [r for r in ratios if r and r > 0]
        self.lo = min(finite + [0.8]) / 1.12
        self.hi = max(finite + [1.25]) * 1.18
        self.x0, self.x1 = x0, x1

    def x(self, ratio: float) -> float:
        ratio = min(max(ratio, self.lo), self.hi)
        span = math.log(self.hi) - math.log(self.lo)
        return self.x0 + (math.log(ratio) - math.log(self.lo)) / span * (self.x1 - self.x0)

    def ticks(self) -> List[float]:
        k = math.ceil(math.log2(self.lo))
        ticks = []
        while 2.0 ** k <= self.hi:
            ticks.append(2.0 ** k)
            k += 1
        return ticks


def _tick_label(t: float) -> str:
    return f"{t:g}x" if t >= 1 else f"1/{1 / t:g}x"


def _bars(summaries: Sequence[Summary], workload: str, metric: str) -> Optional[Dict[str, Bar]]:
    bars = {}
    for s in summaries:
        if s.workload != workload:
            continue
        if not s.ok:
            bars[s.allocator] = Bar(None, failed=True)
            continue
        ratio = s.ratios.get(metric)
        if ratio is None:
            continue
        best = s.medians[metric] / ratio
        low, high = s.spread.get(metric, (None, None))
        bars[s.allocator] = Bar(ratio, low / best if low else None, high / best if high else None,
                                tooltip=f"{s.allocator}, {workload}: median "
                                        f"{_fmt_value(metric, s.medians[metric])} ({ratio:.2f}x), "
                                        f"{s.runs} runs")
    return bars or None


def _best_note(summaries: Sequence[Summary], workload: str, metric: str, what: str) -> List[str]:
    for s in summaries:
        if s.workload == workload and s.best_peer.get(metric) == s.allocator:
            return [f"best {what}: {s.allocator} {_fmt_value(metric, s.medians[metric])}"]
    return []


def build_rows(summaries: Sequence[Summary], allocators: Sequence[str]) -> List[Row]:
    workloads: List[str] = []
    for s in summaries:
        if s.workload not in workloads:
            workloads.append(s.workload)
    rows = []
    for w in workloads:
        rows.append(Row(w, _best_note(summaries, w, "wall_s", "time") +
                        _best_note(summaries, w, "peak_rss_kib", "peak RSS"),
                        [_bars(summaries, w, "wall_s"), _bars(summaries, w, "peak_rss_kib")]))
        idle = _bars(summaries, w, "rss_after_idle_kib")
        if idle:
            rows.append(Row(f"{w}, after idle", ["RSS left after freeing 90%"] +
                            _best_note(summaries, w, "rss_after_idle_kib", "RSS"), [None, idle]))
    geomeans = []
    for metric in ("wall_s", "peak_rss_kib"):
        bars = {}
        for a in allocators:
            mean = geometric_mean([s.ratios.get(metric) for s in summaries if s.allocator == a])
            if mean is not None:
                bars[a] = Bar(mean, tooltip=f"{a}: geometric mean {mean:.2f}x")
        geomeans.append(bars or None)
    rows.append(Row(GEOMEAN, ["geometric mean of the", "ratios above"], geomeans))
    return rows


def render(summaries: Sequence[Summary], allocators: Sequence[str], title: str,
           subtitle_lines: Sequence[str], footnotes: Sequence[str] = ()) -> str:
    rows = build_rows(summaries, allocators)
    colors = dict(COLORS)
    for i, name in enumerate(a for a in allocators if a not in colors):
        colors[name] = FALLBACK_COLORS[i % len(FALLBACK_COLORS)]

    panel_width = (WIDTH - 2 * MARGIN - LABEL_WIDTH - PANEL_GAP) / 2
    panel_x = [MARGIN + LABEL_WIDTH, MARGIN + LABEL_WIDTH + panel_width + PANEL_GAP]
    panel_titles = ["Wall time vs. best peer", "Peak RSS vs. best peer"]
    axes = []
    for p in range(2):
        # The medians set the scale; a far-off whisker is clipped at the edge rather than
        # squeezing every bar into a corner.
        ratios = [bar.ratio for row in rows if row.panels[p] for bar in row.panels[p].values()
                  if bar.ratio]
        axes.append(_Axis(ratios, panel_x[p] + 10, panel_x[p] + panel_width - 44))

    header = 70 + 18 * len(subtitle_lines)
    group_height = len(allocators) * (BAR + BAR_GAP) - BAR_GAP + 2 * GROUP_PAD
    plot_top = header + 58
    bottom = plot_top + group_height * len(rows)
    height = bottom + 56 + 16 * len(footnotes)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           _text(MARGIN, 34, title, 20, weight="bold")]
    for i, line in enumerate(subtitle_lines):
        out.append(_text(MARGIN, 58 + 18 * i, line, 12, fill="#495057"))

    x = MARGIN
    legend_y = header + 8
    for name in allocators:
        out.append(f'<rect x="{x}" y="{legend_y - 11}" width="14" height="14" rx="2" '
                   f'fill="{colors[name]}"/>')
        out.append(_text(x + 20, legend_y + 1, name, 13))
        x += 36 + 8 * len(name)
    out.append(_text(WIDTH - MARGIN, legend_y + 1, "1x = the best of glibc, jemalloc, tcmalloc, "
                     "mimalloc for that row · lower is better · log scale", 11, anchor="end",
                     fill="#495057"))

    for p in range(2):
        axis = axes[p]
        out.append(_text(panel_x[p] + panel_width / 2, plot_top - 12, panel_titles[p], 14,
                         anchor="middle", weight="bold"))
        out.append(f'<rect x="{axis.x0:.1f}" y="{plot_top}" width="{axis.x(1) - axis.x0:.1f}" '
                   f'height="{bottom - plot_top}" fill="#ebfbee"/>')
        for tick in axis.ticks():
            tx = axis.x(tick)
            out.append(f'<line x1="{tx:.1f}" y1="{plot_top}" x2="{tx:.1f}" y2="{bottom}" '
                       f'stroke="{"#343a40" if tick == 1 else "#dee2e6"}" '
                       f'stroke-width="{1.5 if tick == 1 else 1}"/>')
            out.append(_text(tx, bottom + 16, _tick_label(tick), 11, anchor="middle", fill="#495057"))
        out.append(_text(axis.x0, bottom + 34, "◀ better than every peer", 11, fill="#2b8a3e"))
        out.append(_text(axis.x1, bottom + 34, "worse ▶", 11, anchor="end", fill="#c92a2a"))

    for r, row in enumerate(rows):
        top = plot_top + r * group_height
        if row.label == GEOMEAN:
            out.append(f'<line x1="{MARGIN}" y1="{top}" x2="{WIDTH - MARGIN}" y2="{top}" '
                       f'stroke="#495057" stroke-width="1.5"/>')
        elif r % 2 == 1:
            out.append(f'<rect x="{MARGIN}" y="{top}" width="{WIDTH - 2 * MARGIN}" '
                       f'height="{group_height}" fill="#f1f3f5" fill-opacity="0.6"/>')
        out.append(_text(MARGIN, top + GROUP_PAD + 12, row.label, 14, weight="bold"))
        for i, note in enumerate(row.notes):
            out.append(_text(MARGIN, top + GROUP_PAD + 31 + 15 * i, note, 11, fill="#495057"))
        for p in range(2):
            out += _draw_group(row.panels[p], axes[p], allocators, colors, top, row.label)
    for i, note in enumerate(footnotes):
        out.append(_text(MARGIN, bottom + 56 + 16 * i, note, 11, fill="#495057"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _draw_group(bars: Optional[Dict[str, Bar]], axis: _Axis, allocators: Sequence[str],
                colors: Dict[str, str], top: float, label: str) -> List[str]:
    out = []
    if bars is None:
        out.append(_text((axis.x0 + axis.x1) / 2, top + GROUP_PAD + 40, "(not measured here)", 11,
                         anchor="middle", fill="#adb5bd", style="italic"))
        return out
    x1 = axis.x(1)
    for a, name in enumerate(allocators):
        bar = bars.get(name)
        y = top + GROUP_PAD + a * (BAR + BAR_GAP)
        if bar is None:
            continue
        if bar.failed:
            out.append(_text(x1 + 6, y + BAR - 1, f"{name}: FAILED", 10, weight="bold", fill="#c92a2a"))
            continue
        xr = axis.x(bar.ratio)
        left, width = min(x1, xr), abs(xr - x1)
        if width < 2:  # the best peer itself: a short mark on the 1x line
            left, width = x1 - 1.5, 3
        out.append(f'<rect x="{left:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" rx="1.5" '
                   f'fill="{colors[name]}"><title>{escape(bar.tooltip)}</title></rect>')
        right_end, left_end = max(xr, x1 + 1.5), min(xr, x1 - 1.5)
        if bar.low and bar.high and bar.high / bar.low > 1.02:
            lx, hx, cy = axis.x(bar.low), axis.x(bar.high), y + BAR / 2
            out.append(f'<path d="M{lx:.1f},{cy:.1f}H{hx:.1f}M{lx:.1f},{cy - 3:.1f}V{cy + 3:.1f}'
                       f'M{hx:.1f},{cy - 3:.1f}V{cy + 3:.1f}" stroke="#212529" stroke-width="1" '
                       f'stroke-opacity="0.55" fill="none"/>')
            right_end, left_end = max(right_end, hx), min(left_end, lx)
        clipped = bar.ratio > axis.hi or bar.ratio < axis.lo
        text = f"{bar.ratio:.2f}" + ("+" if clipped else "")
        bold = "bold" if name.startswith("rseqmalloc") else "normal"
        if bar.ratio >= 1:
            out.append(_text(right_end + 4, y + BAR - 1.5, text, 10, weight=bold, fill="#343a40"))
        else:
            out.append(_text(left_end - 4, y + BAR - 1.5, text, 10, anchor="end", weight=bold,
                             fill="#343a40"))
    return out

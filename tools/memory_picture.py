#!/usr/bin/env python3
"""Draws where rseqmalloc's memory is, from statistics dumps, as stacked bars (SVG).

Each input is one dump: the text of rseqmalloc_stats_text(), or the stderr of a program run with
RSEQMALLOC_STATS_AT_EXIT=1 or calling malloc_stats() ("rseqmalloc: name value" lines; other
lines are ignored). Each dump becomes one bar, split into the layers that hold the memory:

    application   held by the program
    cpu cache     free objects in the per-CPU caches
    transfer      free objects in the transfer caches
    central       free objects in spans of the central free lists
    page heap     free pages, still resident
    returned      free pages given back to the system (not resident)
    metadata      the allocator's own bookkeeping

usage: memory_picture.py DUMP [DUMP...] -o picture.svg [--title TEXT]
"""

import argparse
import html
import os
import re
import sys

LAYERS = [
    ("application", "application_bytes", "#4c72b0"),
    ("cpu cache", "cpu_cache.bytes", "#55a868"),
    ("transfer", "transfer_cache.bytes", "#8fd18f"),
    ("central", "central_free_list.bytes", "#c4e8c4"),
    ("page heap", "page_heap.free_bytes", "#dd8452"),
    ("returned", "page_heap.returned_bytes", "#d9d9d9"),
    ("metadata", "metadata_bytes", "#8172b3"),
]

LINE = re.compile(r"^(?:rseqmalloc: )?([a-z_][a-z0-9_.]*) (\d+)\s*$")


def parse_dump(text):
    """Returns {name: value} of the statistics lines in text."""
    stats = {}
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if match:
            stats[match.group(1)] = int(match.group(2))
    missing = [key for _, key, _ in LAYERS if key not in stats]
    if missing:
        raise ValueError("not a statistics dump (missing %s)" % ", ".join(missing))
    return stats


def mib(value):
    return value / float(1 << 20)


def render(dumps, labels, title):
    """Returns the SVG text: one horizontal stacked bar per dump, on a common MiB scale."""
    bar_h, gap, left, right, top = 34, 18, 170, 80, 70
    width = 980
    legend_h = 40
    height = top + len(dumps) * (bar_h + gap) + legend_h + 30
    total_max = max(sum(d[key] for _, key, _ in LAYERS) for d in dumps) or 1
    scale = (width - left - right) / float(total_max)
    out = [
        '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
        'font-family="sans-serif" font-size="13">' % (width, height),
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="%d" y="30" font-size="18" font-weight="bold">%s</text>'
        % (left, html.escape(title)),
        '<text x="%d" y="50" fill="#555">MiB per layer; full bar = memory mapped for the heap'
        ' and metadata</text>' % left,
    ]
    for i, (stats, label) in enumerate(zip(dumps, labels)):
        y = top + i * (bar_h + gap)
        out.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                   % (left - 10, y + bar_h / 2 + 5, html.escape(label)))
        x = float(left)
        for name, key, color in LAYERS:
            w = stats[key] * scale
            if w <= 0:
                continue
            out.append('<rect class="layer" data-layer="%s" data-bytes="%d" x="%.1f" y="%d" '
                       'width="%.1f" height="%d" fill="%s"><title>%s: %.1f MiB</title></rect>'
                       % (name, stats[key], x, y, w, bar_h, color, name, mib(stats[key])))
            if w > 48:
                out.append('<text x="%.1f" y="%d" text-anchor="middle" fill="black">%.1f</text>'
                           % (x + w / 2, y + bar_h / 2 + 5, mib(stats[key])))
            x += w
        total = sum(stats[key] for _, key, _ in LAYERS)
        out.append('<text x="%.1f" y="%d" fill="#333">%.1f MiB</text>'
                   % (x + 6, y + bar_h / 2 + 5, mib(total)))
    ly = top + len(dumps) * (bar_h + gap) + 10
    lx = left
    for name, _, color in LAYERS:
        out.append('<rect x="%d" y="%d" width="14" height="14" fill="%s"/>' % (lx, ly, color))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 18, ly + 12, name))
        lx += 18 + 7 * len(name) + 26
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dumps", nargs="+", help="statistics dumps (files, or - for stdin)")
    parser.add_argument("-o", "--output", required=True, help="SVG file to write")
    parser.add_argument("--title", default="Where rseqmalloc's memory is")
    args = parser.parse_args(argv)
    dumps, labels = [], []
    for path in args.dumps:
        text = sys.stdin.read() if path == "-" else open(path).read()
        try:
            dumps.append(parse_dump(text))
        except ValueError as error:
            sys.stderr.write("memory_picture: %s: %s\n" % (path, error))
            return 1
        labels.append("stdin" if path == "-" else os.path.basename(path))
    with open(args.output, "w") as f:
        f.write(render(dumps, labels, args.title))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

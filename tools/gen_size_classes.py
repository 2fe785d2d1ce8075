#!/usr/bin/env python3
"""Generates allocator/size_class_table.inc, rseqmalloc's size-class table.

Usage (from the repository root):
    python3 tools/gen_size_classes.py            # rewrites allocator/size_class_table.inc
    python3 tools/gen_size_classes.py --stdout   # prints it (the test diffs this with the file)

The rules, and why, are in docs/size_classes.md. In short:
  * 8, then 16-byte steps up to 128;
  * above 128, each class is the largest allowed multiple (16 up to 1 KiB, 128 above, so that the
    flat lookup table is exact) at most 12.5 % above the smallest request it serves;
  * the last class is exactly kMaxSmallSize (256 KiB);
  * each class gets the smallest span (in 8 KiB pages) that holds enough objects
    (min(8, 64 KiB / size), at least 1) and wastes at most 12.5 % at its tail;
  * batch = clamp(64 KiB / size, 2, 32) objects per transfer;
  * max per-CPU capacity = clamp(64 KiB / size, batch, 1024) objects.
Standard library only.
"""

import argparse
import os
import sys

PAGE = 8192
MAX_SMALL = 256 * 1024
MAX_WASTE = 0.125          # request rounding above 128 B, and span tail waste
SMALL_LOOKUP_LIMIT = 1024  # sizes up to here are looked up in 8-byte steps, above in 128-byte steps
MAX_SPAN_PAGES = 64
BATCH_BYTES = 64 * 1024
CAPACITY_BYTES = 64 * 1024
MAX_CAPACITY = 1024
SLOT_BUDGET_BYTES = 256 * 1024  # the per-CPU slot size the capacities must stay well under


def unit_for(size):
    """Granularity a class of this size must have for the lookup table to be exact."""
    return 16 if size <= SMALL_LOOKUP_LIMIT else 128


def min_objects(size):
    return max(1, min(8, (64 * 1024) // size))


def span_pages(size):
    """Smallest span holding min_objects(size) objects with tail waste <= MAX_WASTE."""
    for pages in range(1, MAX_SPAN_PAGES + 1):
        span = pages * PAGE
        objects = span // size
        if objects < min_objects(size):
            continue
        if (span - objects * size) / span <= MAX_WASTE:
            return pages
    raise SystemExit("no span length fits class %d" % size)


def class_sizes():
    sizes = [8] + list(range(16, 129, 16))
    while sizes[-1] < MAX_SMALL:
        prev = sizes[-1]
        smallest_request = prev + 1
        limit = int(smallest_request * (1 + MAX_WASTE))
        # A class above 1 KiB must be a multiple of 128; the first class past the 1 KiB
        # boundary is therefore limited by both rules.
        unit = unit_for(limit)
        nxt = limit - limit % unit
        if nxt <= prev:
            raise SystemExit("cannot place a class after %d" % prev)
        sizes.append(min(nxt, MAX_SMALL))
    return sizes


def lookup_index(size):
    if size <= SMALL_LOOKUP_LIMIT:
        return (size + 7) >> 3
    return (size + 127 + (120 << 7)) >> 7


def build():
    sizes = class_sizes()
    classes = [None] + sizes  # class 0 is unused
    pages = [0] + [span_pages(s) for s in sizes]
    objects = [0] + [pages[i] * PAGE // classes[i] for i in range(1, len(classes))]
    batch = [0] + [max(2, min(32, BATCH_BYTES // s)) for s in sizes]
    capacity = [0] + [max(batch[i], min(MAX_CAPACITY, CAPACITY_BYTES // classes[i]))
                      for i in range(1, len(classes))]

    index_len = lookup_index(MAX_SMALL) + 1
    index = [0] * index_len
    for i in range(index_len):
        # The largest size that maps to entry i, and the smallest class that fits it.
        if i <= SMALL_LOOKUP_LIMIT >> 3:
            top = i * 8
        else:
            top = (i << 7) - (120 << 7)
        top = min(max(top, 1), MAX_SMALL)
        index[i] = next(c for c in range(1, len(classes)) if classes[c] >= top)
    return classes, pages, objects, batch, capacity, index


def waste_report(classes, pages, objects):
    """Worst-case rounding waste ((class - request) / request) and tail waste per range."""
    ranges = [(129, 1024), (1025, 8192), (8193, 65536), (65537, MAX_SMALL)]
    lines = []
    sizes = classes[1:]
    for lo, hi in ranges:
        worst = 0.0
        for i, c in enumerate(sizes):
            prev = sizes[i - 1] if i > 0 else 0
            request = max(prev + 1, lo)
            if c < lo or request > hi:
                continue
            worst = max(worst, (c - request) / request)
        tails = [(pages[i] * PAGE - objects[i] * classes[i]) / (pages[i] * PAGE)
                 for i in range(1, len(classes)) if lo <= classes[i] <= hi]
        lines.append("//   %6d..%-6d B: rounding <= %4.1f %%, span tail <= %4.1f %%"
                     % (lo, hi, 100 * worst, 100 * max(tails)))
    lines.append("//   up to 128 B: 8 and 16-byte steps, at most 15 bytes per object")
    return lines


def fmt_array(ctype, name, values, per_line=12):
    out = ["inline constexpr %s %s[%d] = {" % (ctype, name, len(values))]
    for i in range(0, len(values), per_line):
        out.append("    " + ", ".join(str(v) for v in values[i:i + per_line]) + ",")
    out.append("};")
    return out


def render():
    classes, pages, objects, batch, capacity, index = build()
    n = len(classes)
    if not 40 <= n - 1 <= 90:
        raise SystemExit("%d classes: outside 40..90" % (n - 1))
    if n > 255:
        raise SystemExit("too many classes for a byte index")
    slot_bytes = 8 * sum(capacity)
    if slot_bytes > SLOT_BUDGET_BYTES // 2:
        raise SystemExit("capacities need %d bytes per slot" % slot_bytes)
    out = [
        "// GENERATED by tools/gen_size_classes.py -- do not edit by hand.",
        "// Regenerate from the repository root with:  python3 tools/gen_size_classes.py",
        "// (the test //tests/allocator:size_class_table_up_to_date fails when this file is stale).",
        "//",
        "// %d classes (plus class 0, unused), 8 B .. %d B. Worst-case waste per range:" % (n - 1, MAX_SMALL),
    ]
    out += waste_report(classes, pages, objects)
    out += [
        "// Sum of max capacities: %d pointers = %d bytes per per-CPU slot." % (sum(capacity), slot_bytes),
        "// Included by allocator/size_classes.h inside namespace rseqmalloc::size_class_table.",
        "",
        "inline constexpr size_t kNumClasses = %d;" % n,
        "inline constexpr size_t kIndexLength = %d;" % len(index),
        "",
    ]
    out += fmt_array("uint32_t", "kClassSize", [0] + classes[1:], 10)
    out += [""] + fmt_array("uint8_t", "kClassPages", pages, 20)
    out += [""] + fmt_array("uint32_t", "kObjectsPerSpan", objects, 16)
    out += [""] + fmt_array("uint8_t", "kBatchSize", batch, 20)
    out += [""] + fmt_array("uint16_t", "kMaxCapacity", capacity, 16)
    out += [""] + fmt_array("uint8_t", "kClassIndex", index, 24)
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdout", action="store_true", help="print instead of writing the file")
    parser.add_argument("--output", help="path to write (default: allocator/size_class_table.inc)")
    args = parser.parse_args()
    text = render()
    if args.stdout:
        sys.stdout.write(text)
        return
    path = args.output or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                       "allocator", "size_class_table.inc")
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()

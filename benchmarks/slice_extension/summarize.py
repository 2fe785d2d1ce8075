#!/usr/bin/env python3
"""Turns the guest log of benchmarks/slice_extension/run.sh into a Markdown table: per grant
length and extension setting, the medians over the interleaved runs of throughput and latency
quantiles, and the kernel's and the allocator's slice-extension counters summed over the runs (context switches: medians per run).

    summarize.py GUEST.log
"""
import statistics
import sys


def parse(line):
    fields = {}
    for word in line.split():
        if "=" in word and not word.startswith("status"):
            key, _, value = word.partition("=")
            fields[key] = value
    return fields


def grant(nsec):
    return "%g µs" % (nsec / 1000) if nsec else "n/a"


def main(path):
    runs = {}
    for line in open(path, errors="replace"):
        line = line.strip()
        if not line.startswith("SLICERUN ") or " ok=1 " not in line:
            continue
        f = parse(line)
        runs.setdefault((int(f["nsec"] or 0), int(f["ext"])), []).append(f)
    if not runs:
        print("no successful SLICERUN lines in", path)
        return 1

    def med(rs, key):
        return statistics.median(float(r[key]) for r in rs)

    def total(rs, key):
        return sum(int(r[key]) for r in rs)

    print("| grant | extension | runs | calls/s (median) | slow-path p50 / p99 / p99.9 (µs) "
          "| all calls p99 / p99.9 (µs) | slow fraction | kernel grants / revoked / expired / yields "
          "| allocator requests / grants / yields | context switches vol. / invol. |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (nsec, ext), rs in sorted(runs.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        us = lambda key: "%.1f" % (med(rs, key) / 1000)
        print("| %s | %s | %d | %.3g M | %s / %s / %s | %s / %s | %.4f | %d / %d / %d / %d | %d / %d / %d | %d / %d |" % (
            grant(nsec), "on" if ext else "off", len(rs), med(rs, "ops_per_s") / 1e6,
            us("slow_p50_ns"), us("slow_p99_ns"), us("slow_p999_ns"), us("all_p99_ns"),
            us("all_p999_ns"), med(rs, "slow_fraction"), total(rs, "k_sgrant"),
            total(rs, "k_srevok"), total(rs, "k_sexpir"), total(rs, "k_syield"),
            total(rs, "requests"), total(rs, "grants"), total(rs, "yields"),
            med(rs, "nvcsw"), med(rs, "nivcsw")))
    print()
    print("On/off ratios of adjacent runs (same repetition, so slow drift in the host's load "
          "cancels): median [quartiles] (pairs where on > off / pairs)")
    for nsec in sorted({k[0] for k in runs}):
        on, off = runs.get((nsec, 1)), runs.get((nsec, 0))
        if not (on and off):
            continue
        for key in ("ops_per_s", "slow_p50_ns", "slow_p99_ns", "slow_p999_ns", "all_p99_ns",
                    "nivcsw"):
            ratios = sorted(float(a[key]) / max(float(b[key]), 1e-9) for a, b in zip(on, off))
            n = len(ratios)
            print("  grant %s %-13s %.3f [%.2f-%.2f] (%d/%d)" % (
                grant(nsec), key, statistics.median(ratios), ratios[n // 4],
                ratios[(3 * n) // 4], sum(r > 1 for r in ratios), n))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

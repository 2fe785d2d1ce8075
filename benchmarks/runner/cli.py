"""Command line of the comparison runner: runs every workload under every allocator, interleaved
run by run, then prints and writes the summary, the plot and (optionally) the microbenchmarks."""

import argparse
import csv
import datetime
import os
import sys
from typing import Dict, List

from . import allocators as allocators_mod
from . import fast_path, machine, measure, micro, plot_svg, progress, report, stats, tables
from . import workloads as workloads_mod

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Per mode: runs per allocator and workload, work scale, idle seconds, and microbenchmark settings.
MODES = {
    "quick": dict(runs=3, noisy_runs=3, scale=0.15, idle=0.3, micro_min_time=0.01, micro_repetitions=1,
                  fast_path_rounds=3, fast_path_pairs=500000, fast_path_repetitions=3),
    "full": dict(runs=5, noisy_runs=10, scale=2.0, idle=3.0, micro_min_time=0.2, micro_repetitions=3,
                 fast_path_rounds=10, fast_path_pairs=4000000, fast_path_repetitions=5),
}


def parse_args(argv: List[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="compare.py", description="Compare rseqmalloc with glibc, jemalloc, tcmalloc and "
        "mimalloc on the benchmark workloads (via LD_PRELOAD).")
    parser.add_argument("--quick", action="store_true",
                        help="short run (2-3 minutes on an idle 2-core machine): fewer runs, less work")
    parser.add_argument("--runs", type=int, help="runs per workload and allocator (median taken)")
    parser.add_argument("--noisy-runs", type=int,
                        help="runs of the noisy threaded workloads (default: 10 in full mode, else --runs)")
    parser.add_argument("--scale", type=float, help="work multiplier for every workload")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                        help="threads per multi-threaded workload (default: number of CPUs)")
    parser.add_argument("--idle", type=float, help="idle seconds in memory_return")
    parser.add_argument("--workloads", help="comma-separated subset of workloads")
    parser.add_argument("--allocators", help="comma-separated subset of allocators")
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "out", "bench"),
                        help="output directory (default out/bench)")
    parser.add_argument("--bin-dir", default=os.path.join(REPO_ROOT, "bazel-bin"),
                        help="Bazel output directory with the built binaries (default bazel-bin)")
    parser.add_argument("--micro", dest="micro", action="store_true", default=True,
                        help="also run the microbenchmarks (default; short in --quick)")
    parser.add_argument("--no-micro", dest="micro", action="store_false",
                        help="skip the microbenchmarks")
    parser.add_argument("--no-fast-path", dest="fast_path", action="store_false", default=True,
                        help="skip the fast-path table (every allocator's malloc+free vs a floor)")
    parser.add_argument("--fast-path-only", action="store_true",
                        help="only the fast-path table: no workloads, no microbenchmarks")
    parser.add_argument("--fast-path-rounds", type=int,
                        help="interleaved rounds of the fast-path table (median taken)")
    parser.add_argument("--micro-filter", help="regex selecting microbenchmarks")
    parser.add_argument("--baseline", help="results.csv of an earlier run: adds this run's medians "
                        "divided by that run's, for rseqmalloc (is anything worse than before?)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before a run is killed")
    args = parser.parse_args(argv)
    mode = MODES["quick" if args.quick else "full"]
    args.mode = "quick" if args.quick else "full"
    if args.noisy_runs is None:
        args.noisy_runs = mode["noisy_runs"] if args.runs is None else args.runs
    for key in ("runs", "scale", "idle"):
        if getattr(args, key) is None:
            setattr(args, key, mode[key])
    args.micro_min_time = mode["micro_min_time"]
    args.micro_repetitions = mode["micro_repetitions"]
    if args.fast_path_rounds is None:
        args.fast_path_rounds = mode["fast_path_rounds"]
    args.fast_path_pairs = mode["fast_path_pairs"]
    args.fast_path_repetitions = mode["fast_path_repetitions"]
    if args.fast_path_only:
        args.fast_path, args.micro = True, False
    if args.runs < 1 or args.noisy_runs < 1 or args.scale <= 0 or args.threads < 1:
        parser.error("--runs, --noisy-runs, --scale and --threads must be positive")
    return args


def _split(text):
    return [part.strip() for part in text.split(",") if part.strip()] if text else None


def runs_of(args, workload) -> int:
    return args.noisy_runs if workload.noisy else args.runs


def run_workloads(args, chosen_workloads, chosen_allocators, show) -> Dict:
    """Runs everything; returns {(workload, allocator): [Measurement]} and writes runs.csv."""
    results: Dict = {}
    base_env = dict(os.environ)
    raw_path = os.path.join(args.out, "runs.csv")
    with open(raw_path, "w", newline="") as raw_file:
        raw = csv.writer(raw_file)
        raw.writerow(["workload", "allocator", "run", "wall_s", "cpu_s", "peak_rss_kib",
                      "exit_status", "error", "result"])
        for workload in chosen_workloads:
            command = workload.command(args.bin_dir, args.threads,
                                       workload.scale_in(args.mode, args.scale), args.idle)
            runs = runs_of(args, workload)
            for run in range(runs):
                # Interleave: every allocator once per round, starting with a different one each
                # round, so slow drifts of the machine spread evenly over the allocators.
                shift = run % len(chosen_allocators)
                order = chosen_allocators[shift:] + chosen_allocators[:shift]
                for allocator in order:
                    m = measure.run_once(args.helper, command, allocator.environment(base_env), args.timeout)
                    results.setdefault((workload.name, allocator.name), []).append(m)
                    raw.writerow([workload.name, allocator.name, run + 1, f"{m.wall_s:.4f}",
                                  f"{m.cpu_s:.4f}", m.peak_rss_kib, m.exit_status, m.error,
                                  " ".join(f"{k}={v}" for k, v in m.result.items())])
                    detail = (f"{m.wall_s:6.2f} s  {m.cpu_s:6.2f} cpu  {m.peak_rss_kib / 1024:7.1f} MiB"
                              if m.ok else "FAILED: " + m.error[:60])
                    show.report(f"{workload.name} / {allocator.name} (run {run + 1}/{runs})", detail)
    return results


def main(argv: List[str]) -> int:
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    rseqmalloc_so = os.path.join(args.bin_dir, "allocator", "librseqmalloc.so")
    probe = os.path.join(args.bin_dir, "benchmarks", "probe", "rseq_status_probe")
    args.helper = os.path.join(args.bin_dir, "benchmarks", "probe", "measured_exec")
    chosen_allocators, notes = allocators_mod.select(allocators_mod.all_allocators(rseqmalloc_so),
                                                     _split(args.allocators))
    chosen_workloads, missing, skipped = workloads_mod.available(
        [] if args.fast_path_only else workloads_mod.select(_split(args.workloads)), args.bin_dir)
    notes += skipped
    missing += [] if os.path.exists(args.helper) else [args.helper]
    if missing:
        print("missing binaries (build //benchmarks/...): " + ", ".join(missing), file=sys.stderr)
        return 2
    if not chosen_allocators:
        print("no allocator to run: " + "; ".join(notes), file=sys.stderr)
        return 2

    facts = machine.describe(REPO_ROOT, probe, chosen_allocators)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    settings = (f"{args.mode} mode, {started}: {args.runs} run(s) per workload and allocator "
                f"({args.noisy_runs} for the noisy threaded ones), "
                f"{args.threads} threads, work scale {args.scale:g}, idle {args.idle:g} s")
    print("rseqmalloc allocator comparison")
    for key, value in facts:
        print(f"  {key + ':':<20} {value}")
    print("  " + settings)
    for note in notes:
        print("  note: " + note)
    print(flush=True)

    show = progress.Progress(len(chosen_allocators) * sum(runs_of(args, w) for w in chosen_workloads))
    results = run_workloads(args, chosen_workloads, chosen_allocators, show)

    summaries = [stats.summarize(w.name, a.name, a.is_peer, results.get((w.name, a.name), []),
                                 [key for key, _ in w.extra_metrics])
                 for w in chosen_workloads for a in chosen_allocators]
    stats.add_ratios(summaries)
    names = [a.name for a in chosen_allocators]
    table = report.rows(summaries) + report.geomean_rows(summaries, names)

    fast = None
    if args.fast_path:
        fast_runner = fast_path.Runner(
            os.path.join(args.bin_dir, "benchmarks", "fast_path", "fast_path_loops"),
            os.path.join(args.bin_dir, "benchmarks", "fast_path", "libfloor_malloc.so"),
            args.fast_path_rounds, args.fast_path_pairs, args.fast_path_repetitions, args.timeout)
        if os.path.exists(fast_runner.binary) and os.path.exists(fast_runner.floor_library):
            show.note("measuring every allocator's fast path against the floor (pinned, interleaved)...")
            fast = fast_path.measure(fast_runner, allocators_mod.with_cpu_id_key(chosen_allocators),
                                     dict(os.environ), show)
            fast_path.write_csv(os.path.join(args.out, "fast_path.csv"), fast)
        else:
            notes.append("fast-path table skipped: build //benchmarks/fast_path:all")

    micro_rows = None
    if args.micro:
        binary = os.path.join(args.bin_dir, "benchmarks", "micro", "alloc_microbenchmark")
        if os.path.exists(binary):
            show.note("running microbenchmarks (rseqmalloc and system malloc in one binary)...")
            _, micro_rows = micro.run(binary, args.out, args.micro_min_time, args.micro_repetitions,
                                      args.micro_filter, dict(os.environ))
            micro.write_csv(os.path.join(args.out, "microbenchmarks.csv"), micro_rows)
        else:
            notes.append(f"microbenchmarks skipped: {binary} not built")

    title = "rseqmalloc vs. glibc, jemalloc, tcmalloc, mimalloc"
    subtitle = [" · ".join(f"{k}: {v}" for k, v in facts[:4] if k != "load average"),
                f"{settings} · load average at start {dict(facts)['load average'].split(' (')[0]}"]
    subtitle += [f"{k}: {v}" for k, v in facts if k.startswith("rseq status")]
    footnotes = [f"{a.name}: {a.description}" + (f", version {v}" if v else "")
                 for a in chosen_allocators for v in [dict(facts).get(a.name, "")]]
    footnotes.append("Bars: median over the runs; whiskers: fastest to slowest run. "
                     "Details: results.md, results.csv, runs.csv.")
    plot_path = os.path.join(args.out, "comparison.svg")
    with open(plot_path, "w") as f:
        f.write(plot_svg.render(summaries, names, title, subtitle, footnotes))
    report.write_csv(os.path.join(args.out, "results.csv"), summaries)
    mine = [a.name for a in chosen_allocators if not a.is_peer]
    sections = []  # (heading, Markdown, console text)
    for metric, heading in (("peak_rss_kib", "Peak RSS of rseqmalloc divided by each peer's"),
                            ("cpu_s", "CPU time of rseqmalloc divided by each peer's")):
        header, rows = report.versus_each_peer_table(summaries, metric, mine)
        if rows:
            sections.append((heading, tables.markdown(header, rows, 2), tables.text(header, rows, 2)))
    if args.baseline:
        header, rows = report.versus_baseline_table(summaries, report.read_baseline(args.baseline), mine)
        if rows:
            sections.append((f"rseqmalloc against the baseline ({args.baseline})",
                             tables.markdown(header, rows, 2), tables.text(header, rows, 2)))
    header, rows = report.extra_metrics_table(summaries, chosen_workloads)
    if rows:
        sections.append(("What the workloads measure of themselves", tables.markdown(header, rows, 2),
                         tables.text(header, rows, 2)))
    if fast:
        sections.append(("Single-thread fast path of every allocator",
                         fast_path.markdown_section(fast, fast_runner), fast_path.text_section(fast)))
    if micro_rows:
        sections.append(("Microbenchmarks", micro.markdown_table(micro_rows), micro.text_table(micro_rows)))
    report.write_markdown(os.path.join(args.out, "results.md"), title, facts, notes, settings, table,
                          plot_path, [(heading, body) for heading, body, _ in sections])

    print()
    print(report.text_table(table))
    for heading, _, console in sections:
        print()
        print(heading + ":")
        print(console)
    print()
    for note in notes:
        print("note: " + note)
    print(f"wrote {args.out}/results.csv, results.md, runs.csv, comparison.svg"
          + (", microbenchmarks.csv/.json" if micro_rows else "") + (", fast_path.csv" if fast else ""))
    failed = [s for s in summaries if not s.ok]
    for s in failed:
        print(f"FAILED: {s.workload} under {s.allocator}: {s.failures[0]}", file=sys.stderr)
    for name, error in (fast.failures.items() if fast else []):
        print(f"FAILED: the fast-path loops under {name}: {error}", file=sys.stderr)
    return 1 if failed or (fast and fast.failures) else 0

"""Unit tests of the comparison runner's parts that can be checked without running a benchmark:
measuring a child through the helper, parsing, medians and ratios, the micro pairing, reports and
the plot. Argument: path of the measured_exec helper."""

import csv
import io
import os
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from runner import allocators, cli, fast_path, measure, micro, plot_svg, report, stats  # noqa: E402
from runner import workloads  # noqa: E402

HELPER = None


def fake(wall, cpu=0.1, rss=1000, error="", **result):
    fields = {"check": "ok"}
    fields.update({k: str(v) for k, v in result.items()})
    return measure.Measurement(wall, cpu, rss, 0, fields, error)


class MeasureTest(unittest.TestCase):
    def test_parses_last_result_line(self):
        fields = measure.parse_result_line("noise\nRESULT a=1 check=FAILED\nRESULT a=2 check=ok b=x\n")
        self.assertEqual(fields, {"a": "2", "check": "ok", "b": "x"})

    def test_passing_child(self):
        m = measure.run_once(HELPER, ["/bin/sh", "-c", "echo RESULT workload=t check=ok"],
                             dict(os.environ), 30)
        self.assertTrue(m.ok, m.error)
        self.assertGreater(m.wall_s, 0)
        self.assertGreater(m.peak_rss_kib, 0)
        # The runner's own RSS (tens of MiB) must not leak into the child's peak.
        self.assertLess(m.peak_rss_kib, 8 * 1024)

    def test_peak_rss_is_the_childs(self):
        script = "x = bytearray(64 << 20); print('RESULT check=ok')"
        m = measure.run_once(HELPER, [sys.executable, "-c", script], dict(os.environ), 60)
        self.assertTrue(m.ok, m.error)
        self.assertGreater(m.peak_rss_kib, 64 * 1024)

    def test_failed_self_check(self):
        m = measure.run_once(HELPER, ["/bin/sh", "-c", "echo RESULT check=FAILED failures=3; "
                                      "echo broken >&2; exit 1"], dict(os.environ), 30)
        self.assertFalse(m.ok)
        self.assertIn("self-check failed (3 failures)", m.error)
        self.assertIn("broken", m.error)

    def test_crash(self):
        m = measure.run_once(HELPER, ["/bin/sh", "-c", "kill -SEGV $$"], dict(os.environ), 30)
        self.assertFalse(m.ok)
        self.assertIn("SIGSEGV", m.error)

    def test_missing_result_line(self):
        m = measure.run_once(HELPER, ["/bin/true"], dict(os.environ), 30)
        self.assertFalse(m.ok)

    def test_timeout_kills_the_workload_too(self):
        with tempfile.TemporaryDirectory() as scratch:
            marker = os.path.join(scratch, "still-running")
            m = measure.run_once(HELPER, ["/bin/sh", "-c", f"sleep 1; touch {marker}"],
                                 dict(os.environ), 0.3)
            self.assertIn("timed out", m.error)
            time.sleep(1.5)
            self.assertFalse(os.path.exists(marker))


class CpuIdKeyTest(unittest.TestCase):
    def test_each_rseqmalloc_mode_gets_a_cpu_id_twin(self):
        chosen = allocators.all_allocators("/lib.so")
        names = [a.name for a in allocators.with_cpu_id_key(chosen)]
        self.assertEqual(names[:4], ["rseqmalloc", "rseqmalloc cpu_id", "rseqmalloc-own",
                                     "rseqmalloc-own cpu_id"])
        self.assertEqual(len(names), len(chosen) + 2)
        own_cpu_id = allocators.with_cpu_id_key(chosen)[3].environment({})
        self.assertEqual(own_cpu_id["RSEQMALLOC_SLOT_KEY"], "cpu_id")
        self.assertEqual(own_cpu_id["GLIBC_TUNABLES"], "glibc.pthread.rseq=0")


class AllocatorsTest(unittest.TestCase):
    def test_missing_library_is_skipped_with_a_note(self):
        chosen, notes = allocators.select(allocators.all_allocators("/nonexistent/librseqmalloc.so"),
                                          ["rseqmalloc", "glibc"])
        self.assertEqual([a.name for a in chosen], ["glibc"])
        self.assertEqual(len(notes), 1)
        self.assertIn("skipped rseqmalloc", notes[0])

    def test_own_registration_mode_turns_off_glibcs_rseq(self):
        own = next(a for a in allocators.all_allocators("/x.so") if a.name == "rseqmalloc-own")
        env = own.environment({"LD_PRELOAD": "/other.so", "HOME": "/h"})
        self.assertEqual(env["LD_PRELOAD"], "/x.so")
        self.assertEqual(env["GLIBC_TUNABLES"], "glibc.pthread.rseq=0")
        glibc = next(a for a in allocators.all_allocators("/x.so") if a.name == "glibc")
        self.assertNotIn("LD_PRELOAD", glibc.environment({"LD_PRELOAD": "/other.so"}))


class StatsTest(unittest.TestCase):
    def test_medians_and_ratios_to_best_peer(self):
        summaries = [
            stats.summarize("w", "mine", False, [fake(1.0), fake(3.0), fake(2.0)]),
            stats.summarize("w", "peer_a", True, [fake(4.0), fake(4.0), fake(4.0)]),
            stats.summarize("w", "peer_b", True, [fake(5.0, rss=500), fake(5.0, rss=500)]),
            stats.summarize("w", "broken_peer", True, [fake(0.1, error="crashed")]),
        ]
        stats.add_ratios(summaries)
        mine, a, b, broken = summaries
        self.assertEqual(mine.medians["wall_s"], 2.0)
        self.assertEqual(mine.spread["wall_s"], (1.0, 3.0))
        self.assertAlmostEqual(mine.ratios["wall_s"], 0.5)   # a failed peer is never the best
        self.assertAlmostEqual(a.ratios["wall_s"], 1.0)
        self.assertAlmostEqual(b.ratios["wall_s"], 1.25)
        self.assertAlmostEqual(a.ratios["peak_rss_kib"], 2.0)  # best RSS is peer_b's
        self.assertEqual(a.best_peer["peak_rss_kib"], "peer_b")
        self.assertIsNone(broken.ratios["wall_s"])
        self.assertFalse(broken.ok)

    def test_workload_metric_from_result_line(self):
        s = stats.summarize("m", "x", True, [fake(1, rss_after_idle_kib=10),
                                             fake(1, rss_after_idle_kib=30)])
        self.assertEqual(s.medians["rss_after_idle_kib"], 20)


class MicroTest(unittest.TestCase):
    def test_pairs_rows_and_uses_the_median_aggregate(self):
        benchmarks = [
            {"name": "BM_MallocFree<RseqMalloc>/64", "run_type": "iteration", "items_per_second": 1e8},
            {"name": "BM_MallocFree<SystemMalloc>/64", "run_type": "iteration", "items_per_second": 5e7},
            {"name": "BM_CrossThreadHandoff<RseqMalloc>/64/real_time_mean", "run_type": "aggregate",
             "items_per_second": 1e3},
            {"name": "BM_CrossThreadHandoff<RseqMalloc>/64/real_time_median", "run_type": "aggregate",
             "items_per_second": 1e7},
            {"name": "BM_CrossThreadHandoff<SystemMalloc>/64/real_time_median", "run_type": "aggregate",
             "items_per_second": 1e7},
        ]
        rows = micro.pair_rows(benchmarks)
        self.assertEqual(rows[0], ("MallocFree/64", "10.0", "20.0", "0.50x"))
        self.assertEqual(rows[1], ("CrossThreadHandoff/64", "100.0", "100.0", "1.00x"))


class FastPathTest(unittest.TestCase):
    def test_parses_rows_and_the_function_called(self):
        values, via = fast_path.parse("ROW name=malloc16 ns=5.250 via=standard\n"
                                      "ROW name=free_sized64 ns=- via=none\nRESULT check=ok\n")
        self.assertEqual(values, {"malloc16": 5.25})
        self.assertEqual(via, {"malloc16": "standard", "free_sized64": "none"})

    def test_ratios_to_the_floor_and_to_the_fastest_peer(self):
        samples = {"mine": [{"malloc16": 4.0, "free_sized64": 9.0}, {"malloc16": 6.0, "free_sized64": 11.0},
                            {"malloc16": 3.3, "free_sized64": 10.0}],
                   "peer_a": [{"malloc16": 10.0, "free_sized64": 5.0}],
                   "peer_b": [{"malloc16": 8.0}],  # no sized free: not a candidate on that row
                   fast_path.FLOOR: [{"malloc16": 3.0, "free_sized64": 2.5}]}
        result = fast_path.summarize(samples, {}, ["peer_a", "peer_b"])
        self.assertEqual(result.medians["mine"], {"malloc16": 4.0, "free_sized64": 10.0})
        self.assertEqual(result.spread["mine"]["malloc16"], (3.3, 6.0))
        self.assertEqual(fast_path.fastest_peer(result, "malloc16"), ("peer_b", 8.0))
        self.assertEqual(fast_path.fastest_peer(result, "free_sized64"), ("peer_a", 5.0))
        to_floor, to_peer = fast_path.ratios(result, "mine", "malloc16")
        self.assertAlmostEqual(to_floor, 4.0 / 3.0)
        self.assertAlmostEqual(to_peer, 0.5)
        table = {r[0]: r for r in fast_path.ns_rows(result)}
        # Ratios pair rounds: only round 0 has a floor and peers, so mine's worst vs floor is
        # free_sized (9 / 2.5) and its worst vs peer is free_sized (9 / 5).
        self.assertEqual(table["mine"][-2:], ("3.60x", "1.80x"))
        self.assertEqual(list(table)[-1], fast_path.FLOOR)
        self.assertEqual(table["peer_b"][5], "-")
        ratio_table = {r[0]: r for r in fast_path.ratio_rows(result)}
        self.assertEqual(ratio_table["mine"][1], "1.33 / 0.50")
        self.assertEqual(ratio_table["fastest peer"][1], "peer_b")
        self.assertNotIn(fast_path.FLOOR, ratio_table)
        self.assertIn("| mine | 4.00 |", fast_path.markdown(fast_path.NS_HEADER, list(table.values())))


    def test_ratios_pair_rounds_so_a_slow_round_compares_with_itself(self):
        # Round 1 ran the allocator while the machine was slow but the floor while it was fast,
        # round 2 both slow: the ratio of the medians (6.0 / 2.95 = 2.03) says the allocator
        # costs twice the floor; the per-round ratios are 1.03, 2.03 and 1.05, median 1.05.
        # Against peers, each round's lowest peer value counts (peer in rounds 0-1, other in 2).
        samples = {"mine": [{"malloc16": 3.0}, {"malloc16": 6.0}, {"malloc16": 6.2}],
                   "peer": [{"malloc16": 3.3}, {"malloc16": 6.6}, {"malloc16": 6.5}],
                   "other": [{"malloc16": 3.4}, {"malloc16": 6.9}, {"malloc16": 5.0}],
                   fast_path.FLOOR: [{"malloc16": 2.9}, {"malloc16": 2.95}, {"malloc16": 5.9}]}
        result = fast_path.summarize(samples, {}, ["peer", "other"])
        to_floor, to_peer = fast_path.ratios(result, "mine", "malloc16")
        self.assertAlmostEqual(to_floor, 6.2 / 5.9)
        # Per round: 3.0/3.3 = 0.91, 6.0/6.6 = 0.91, 6.2/5.0 = 1.24 (other beat mine there).
        self.assertAlmostEqual(to_peer, 6.0 / 6.6)
        self.assertEqual(fast_path.ratios(result, "mine", "calloc64"), (None, None))

    def test_a_missing_ratio_prints_a_dash_and_no_allocators_is_no_crash(self):
        samples = {"mine": [{"malloc16": 3.0}], "peer": [{"malloc16": 3.3}]}  # no floor
        result = fast_path.summarize(samples, {}, ["peer"])
        self.assertEqual({r[0]: r for r in fast_path.ratio_rows(result)}["mine"][1], "- / 0.91")
        runner = fast_path.Runner("/bin/false", "floor.so", 1, 1000, 1)
        self.assertEqual(fast_path.measure(runner, [], {}).medians, {})

    def test_every_allocator_runs_between_two_floor_runs(self):
        # The fake floor gets slower with every run (its count is kept in a file), so each
        # allocator's reference must be the mean of the two floor runs beside it.
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, "loops")
            log = os.path.join(tmp, "log")
            with open(script, "w") as f:
                f.write(f"#!/bin/sh\necho \"${{LD_PRELOAD:-$FAKE}}\" >> {log}\n"
                        "if [ -n \"$FAKE\" ]; then echo ROW name=malloc16 ns=$NS via=standard\n"
                        f"else n=$(grep -c floor {log}); echo ROW name=malloc16 ns=$n via=standard; fi\n"
                        "echo RESULT check=ok\n")
            os.chmod(script, 0o755)

            class Fake:
                def __init__(self, name, ns):
                    self.name, self.ns, self.is_peer = name, ns, name == "b"
                def environment(self, base):
                    return dict(base, FAKE=self.name, NS=self.ns)
            runner = fast_path.Runner(script, "floor.so", 2, 1000, 1)
            result = fast_path.measure(runner, [Fake("a", "3"), Fake("b", "6")], {})
            with open(log) as f:
                order = f.read().split()
        self.assertEqual(order, ["floor.so", "a", "floor.so", "b", "floor.so",
                                 "floor.so", "b", "floor.so", "a", "floor.so"])
        # Floor runs print 1..6. a sat between floors 1 and 2 (round 0), then 5 and 6 (round 1):
        # ratios 3/1.5 and 3/5.5, median 1.27; b between 2 and 3, then 4 and 5: 6/2.5, 6/4.5.
        self.assertAlmostEqual(fast_path.ratios(result, "a", "malloc16")[0],
                               (3 / 1.5 + 3 / 5.5) / 2)
        self.assertAlmostEqual(fast_path.ratios(result, "a", "malloc16")[1],
                               ((3 / 1.5) / (6 / 2.5) + (3 / 5.5) / (6 / 4.5)) / 2)
        self.assertEqual(len(result.rounds[fast_path.FLOOR]), 2)

    def test_a_crashing_allocator_is_reported_not_fatal(self):
        class Fake:
            def __init__(self, name, preload):
                self.name, self.is_peer, self.preload = name, True, preload
            def environment(self, base):
                return dict(base, FAKE=self.preload)
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, "loops")
            with open(script, "w") as f:
                f.write("#!/bin/sh\n[ \"$FAKE\" = crash ] && kill -SEGV $$\n"
                        "echo ROW name=malloc16 ns=4.0 via=standard\necho RESULT check=ok\n")
            os.chmod(script, 0o755)
            runner = fast_path.Runner(script, "floor.so", 2, 1000, 1)
            result = fast_path.measure(runner, [Fake("good", "ok"), Fake("bad", "crash")], {})
        self.assertEqual(result.medians["good"], {"malloc16": 4.0})
        self.assertNotIn("bad", result.medians)
        self.assertIn("bad", result.failures)
        self.assertIn("FAILED: bad", fast_path.sized_free_note(result))


class WorkloadsTest(unittest.TestCase):
    def test_noisy_workloads_get_ten_runs_in_full_mode_only(self):
        full = cli.parse_args([])
        larson, shbench = workloads.select(["larson", "shbench"])
        self.assertTrue(larson.noisy)
        self.assertEqual((cli.runs_of(full, larson), cli.runs_of(full, shbench)), (10, 5))
        quick = cli.parse_args(["--quick"])
        self.assertEqual(cli.runs_of(quick, larson), quick.runs)
        # An explicit --runs applies to every workload unless --noisy-runs says otherwise.
        self.assertEqual(cli.runs_of(cli.parse_args(["--runs", "1"]), larson), 1)
        self.assertEqual(cli.runs_of(cli.parse_args(["--runs", "1", "--noisy-runs", "12"]), larson), 12)

    def test_fast_path_only_runs_no_microbenchmarks(self):
        args = cli.parse_args(["--quick", "--fast-path-only", "--micro-filter", "x"])
        self.assertTrue(args.fast_path)
        self.assertFalse(args.micro)

    def test_many_threads_has_its_thread_count_and_big_heaps_shrink_in_quick_mode(self):
        many, heap = workloads.select(["many_threads", "random_access"])
        command = many.command("bin", 2, 0.5, 0)
        self.assertEqual(command[command.index("--threads") + 1], str(workloads.MANY_THREADS))
        self.assertLess(heap.scale_in("quick", 0.15), 0.15)
        self.assertEqual(heap.scale_in("full", 2.0), 2.0)

    def test_missing_tool_is_skipped_with_a_note_and_missing_binary_reported(self):
        tool = workloads.Workload("t", "", tool=("some-package", "/nonexistent/tool", lambda t, s: [t]))
        ours = workloads.Workload("w", "")
        runnable, missing, notes = workloads.available([tool, ours], "/nonexistent")
        self.assertEqual(runnable, [])
        self.assertEqual(missing, [ours.binary("/nonexistent")])
        self.assertIn("install some-package", notes[0])

    def test_stress_ng_command_checks_its_exit(self):
        (stress,) = workloads.select(["stress_ng_malloc"])
        command = " ".join(stress.command("bin", 2, 0.05, 0))
        self.assertIn("--malloc-ops 500", command)
        self.assertIn("&& echo RESULT workload=stress_ng_malloc check=ok", command)


class OutputTest(unittest.TestCase):
    def setUp(self):
        self.summaries = [
            stats.summarize("w1", "rseqmalloc", False, [fake(1.0), fake(1.2)]),
            stats.summarize("w1", "glibc", True, [fake(2.0)]),
            stats.summarize("w2", "rseqmalloc", False, [fake(1.0, error="killed by signal 11")]),
            stats.summarize("w2", "glibc", True, [fake(2.0, rss_after_idle_kib=5)]),
        ]
        stats.add_ratios(self.summaries)

    def test_csv_has_a_row_per_workload_and_allocator(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, "r.csv")
            report.write_csv(path, self.summaries)
            with open(path) as f:
                rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 4)
        self.assertEqual(rows[0]["wall_vs_best_peer"], "0.5500")
        self.assertTrue(rows[2]["status"].startswith("FAILED"))

    def test_every_peer_ratio_and_extra_metrics(self):
        summaries = [stats.summarize("w", "mine", False, [fake(1.0, rss=500, lookup_ns=90)], ["lookup_ns"]),
                     stats.summarize("w", "p1", True, [fake(2.0, rss=1000, lookup_ns=300)], ["lookup_ns"]),
                     stats.summarize("w", "p2", True, [fake(2.0, rss=250)], ["lookup_ns"])]
        header, rows = report.versus_each_peer_table(summaries, "peak_rss_kib", ["mine"])
        self.assertEqual(header, ("workload", "allocator", "/ p1", "/ p2"))
        self.assertEqual(rows[0], ("w", "mine", "0.50x", "2.00x"))
        self.assertEqual(rows[-1], ("geomean", "mine", "0.50x", "2.00x"))
        heap = workloads.Workload("w", "", extra_metrics=(("lookup_ns", "ns per lookup"),))
        header, rows = report.extra_metrics_table(summaries, [heap])
        self.assertEqual(rows, [("w", "ns per lookup", "90.0", "300.0", "-")])

    def test_baseline_ratios_from_an_earlier_results_csv(self):
        with tempfile.TemporaryDirectory() as out:
            path = os.path.join(out, "r.csv")
            report.write_csv(path, self.summaries)
            baseline = report.read_baseline(path)
        self.assertAlmostEqual(baseline[("w1", "rseqmalloc")]["wall_s"], 1.1)
        now = [stats.summarize("w1", "rseqmalloc", False, [fake(2.2, rss=500)]),
               stats.summarize("w1", "glibc", True, [fake(2.0)])]
        header, rows = report.versus_baseline_table(now, baseline, ["rseqmalloc"])
        self.assertEqual(header[2], "wall / baseline")
        # w2's rseqmalloc failed in the baseline and is absent now: only w1, and its geomean.
        self.assertEqual(rows[0], ("w1", "rseqmalloc", "2.00x", "1.00x", "0.50x"))
        self.assertEqual(rows[-1], ("geomean", "rseqmalloc", "2.00x", "1.00x", "0.50x"))

    def test_text_table_marks_failures(self):
        table = report.text_table(report.rows(self.summaries))
        self.assertIn("0.55x", table)
        self.assertIn("FAILED: killed by signal 11", table)

    def test_plot_is_well_formed_svg_with_every_bar(self):
        svg = plot_svg.render(self.summaries, ["rseqmalloc", "glibc"], "t", ["s"], ["f"])
        root = ElementTree.parse(io.StringIO(svg)).getroot()
        titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
        # w1: two bars per panel; w2: glibc only (rseqmalloc failed); RSS after idle for w2;
        # geometric means for both allocators in both panels.
        self.assertEqual(len([t for t in titles if "median" in t]), 4 + 2 + 1)
        self.assertEqual(len([t for t in titles if "geometric mean" in t]), 4)
        self.assertIn("rseqmalloc: FAILED", svg)


if __name__ == "__main__":
    HELPER = os.path.abspath(sys.argv.pop(1))
    unittest.main()

"""The single-thread fast path of every allocator, measured the same way for all of them, down to a
floor.

benchmarks/fast_path/fast_path_loops runs one loop per row (malloc+free of two sizes, new + sized
delete, a batch of 100 mallocs then 100 frees, a sized free, aligned_alloc, calloc), pinned to one
CPU and timed in the CPU time of its thread. The runner starts it under each allocator's
LD_PRELOAD, and under libfloor_malloc.so, whose entry points do nothing: that row is what the calls
through the PLT, the loop and the timer cost by themselves. Processes are interleaved allocator by
allocator, round by round, with a floor run before and after every allocator; each allocator's
number is the median over the rounds.

The ratios are paired: an allocator's value in a round is divided by the mean of the two floor
runs next to it, and the ratio to the floor is the median of that over the rounds; the ratio to
the fastest peer is the median over the rounds of (its floor-relative value / the lowest
floor-relative value any peer had on the row in the same round), so below 1 means faster than
every peer. The shared machines this runs on change speed for seconds to minutes at a time (the
floor itself measured 2.8 ns in one run and 4.3 in the next, and 3.45 against 2.95 within one
run); a ratio of two medians mixes runs taken at different speeds, a ratio to the floor runs
beside it much less."""

import csv
import dataclasses
import statistics
import subprocess
from typing import Dict, List, Optional, Sequence, Tuple

from .tables import markdown, text

FLOOR = "floor"

# (name printed by fast_path_loops, column title)
ROWS = (
    ("malloc16", "malloc(16)+free"),
    ("malloc1024", "malloc(1024)+free"),
    ("new64_sized_delete", "new(64)+sized delete"),
    ("batch100x64", "100 malloc(64), 100 free"),
    ("free_sized64", "malloc(64)+free_sized"),
    ("aligned_alloc64x256", "aligned_alloc(64,256)+free"),
    ("calloc64", "calloc(1,64)+free"),
)


@dataclasses.dataclass
class Runner:
    """What the fast-path measurement needs: the loop program and its settings."""
    binary: str
    floor_library: str
    rounds: int
    pairs: int
    repetitions: int
    timeout_s: float = 300


def parse(stdout: str) -> Tuple[Dict[str, float], Dict[str, str]]:
    """ns per pair for each row the allocator could run, and which function each row called."""
    values: Dict[str, float] = {}
    via: Dict[str, str] = {}
    for line in stdout.splitlines():
        if not line.startswith("ROW "):
            continue
        fields = dict(item.partition("=")[::2] for item in line.split()[1:])
        name = fields.get("name", "")
        via[name] = fields.get("via", "")
        try:
            values[name] = float(fields.get("ns", "-"))
        except ValueError:
            pass
    return values, via


def run_once(runner: Runner, env: Dict[str, str]) -> Tuple[Dict[str, float], Dict[str, str]]:
    done = subprocess.run([runner.binary, "--pairs", str(runner.pairs),
                           "--repetitions", str(runner.repetitions)],
                          env=env, capture_output=True, text=True, timeout=runner.timeout_s)
    if done.returncode != 0 or "check=ok" not in done.stdout:
        raise RuntimeError(f"fast_path_loops failed (exit {done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-300:]}")
    return parse(done.stdout)


@dataclasses.dataclass
class Result:
    # allocator -> row -> median ns per pair
    medians: Dict[str, Dict[str, float]]
    # allocator -> row -> (fastest, slowest) round
    spread: Dict[str, Dict[str, Tuple[float, float]]]
    # allocator -> row -> function called (for the sized free: free_sized, sdallocx, ...)
    via: Dict[str, Dict[str, str]]
    peers: List[str]
    # allocator -> why its loops failed (crash, timeout): it has no row then
    failures: Dict[str, str] = dataclasses.field(default_factory=dict)
    # allocator -> the rounds' values, index = round (what the paired ratios divide)
    rounds: Dict[str, List[Dict[str, float]]] = dataclasses.field(default_factory=dict)
    # allocator -> per round, the mean of the floor runs before and after it (index = round);
    # without an entry, a round's reference is the floor's value in that round
    floor_refs: Dict[str, List[Dict[str, float]]] = dataclasses.field(default_factory=dict)


def summarize(samples: Dict[str, List[Dict[str, float]]], via: Dict[str, Dict[str, str]],
              peers: Sequence[str], failures: Optional[Dict[str, str]] = None,
              floor_refs: Optional[Dict[str, List[Dict[str, float]]]] = None) -> Result:
    failures = failures or {}
    medians: Dict[str, Dict[str, float]] = {}
    spread: Dict[str, Dict[str, Tuple[float, float]]] = {}
    for name, rounds in samples.items():
        if name in failures or not rounds:
            continue
        medians[name], spread[name] = {}, {}
        for row, _ in ROWS:
            values = [r[row] for r in rounds if row in r]
            if values:
                medians[name][row] = statistics.median(values)
                spread[name][row] = (min(values), max(values))
    return Result(medians, spread, via, [p for p in peers if p in medians], failures,
                  {name: rounds for name, rounds in samples.items() if name in medians},
                  dict(floor_refs or {}))


def _mean_of_runs(runs: Sequence[Dict[str, float]]) -> Dict[str, float]:
    """Row by row, the mean of the runs that have the row."""
    rows = {row for run in runs for row in run}
    return {row: statistics.fmean([run[row] for run in runs if row in run]) for row in rows}


def measure(runner: Runner, allocators, base_env: Dict[str, str], show=None) -> Result:
    """allocators: objects with .name, .is_peer and .environment(base_env) (see allocators.py).
    The floor library is added as one more allocator."""
    contenders = [(a.name, a.environment(base_env)) for a in allocators]
    floor_env = dict(base_env)
    floor_env["LD_PRELOAD"] = runner.floor_library
    samples: Dict[str, List[Dict[str, float]]] = {name: [] for name, _ in contenders}
    samples[FLOOR] = []
    floor_refs: Dict[str, List[Dict[str, float]]] = {name: [] for name, _ in contenders}
    via: Dict[str, Dict[str, str]] = {}
    failures: Dict[str, str] = {}

    def run(name: str, env: Dict[str, str]) -> Optional[Dict[str, float]]:
        if name in failures:
            return None
        try:
            values, via[name] = run_once(runner, env)
            return values
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            failures[name] = str(error)
            return None

    if not contenders:
        return summarize(samples, via, [], failures)
    for round_index in range(runner.rounds):
        # Every allocator once, starting with a different one each round, each between two
        # floor runs (the floor run after one allocator is the one before the next).
        floor_runs = [run(FLOOR, floor_env)]
        shift = round_index % len(contenders)
        for name, env in contenders[shift:] + contenders[:shift]:
            values = run(name, env)
            floor_runs.append(run(FLOOR, floor_env))
            if values is not None:
                samples[name].append(values)
                floor_refs[name].append(_mean_of_runs([r for r in floor_runs[-2:] if r]))
        present = [r for r in floor_runs if r is not None]
        if present:
            samples[FLOOR].append(_mean_of_runs(present))
        if show:
            show.note(f"fast path: round {round_index + 1}/{runner.rounds} done")
    return summarize(samples, via, [a.name for a in allocators if a.is_peer], failures, floor_refs)


def fastest_peer(result: Result, row: str) -> Tuple[Optional[str], Optional[float]]:
    candidates = [(result.medians[p][row], p) for p in result.peers if row in result.medians[p]]
    if not candidates:
        return None, None
    value, name = min(candidates)
    return name, value


def _relative(result: Result, name: str, index: int, row: str) -> Optional[float]:
    """name's value in round `index` divided by its floor reference in that round."""
    rounds = result.rounds.get(name, [])
    if index >= len(rounds) or row not in rounds[index]:
        return None
    # The floor runs beside it where measure() recorded them, else the round's floor.
    refs = result.floor_refs.get(name, result.rounds.get(FLOOR, []))
    ref = refs[index].get(row) if index < len(refs) else None
    return rounds[index][row] / ref if ref else None


def ratios(result: Result, name: str, row: str) -> Tuple[Optional[float], Optional[float]]:
    """(ratio to the floor, ratio to the fastest peer) of one allocator on one row, each paired
    by round (see the top of this file). Without floor runs the peer ratio compares raw values."""
    if row not in result.medians.get(name, {}):
        return None, None
    to_floor, to_peer = [], []
    for index, values in enumerate(result.rounds.get(name, [])):
        if row not in values:
            continue
        mine = _relative(result, name, index, row)
        if mine is not None:
            to_floor.append(mine)
        peers = [(_relative(result, p, index, row), result.rounds[p][index][row])
                 for p in result.peers
                 if index < len(result.rounds.get(p, [])) and row in result.rounds[p][index]]
        if not peers:
            continue
        if mine is not None and all(rel is not None for rel, _ in peers):
            to_peer.append(mine / min(rel for rel, _ in peers))
        else:
            to_peer.append(values[row] / min(raw for _, raw in peers))
    median = lambda xs: statistics.median(xs) if xs else None
    return median(to_floor), median(to_peer)


def _order(result: Result) -> List[str]:
    names = [n for n in result.medians if n != FLOOR]
    return names + ([FLOOR] if FLOOR in result.medians else [])


def _worst(values: Sequence[Optional[float]]) -> str:
    present = [v for v in values if v is not None]
    return f"{max(present):.2f}x" if present else "-"


def ns_rows(result: Result) -> List[Tuple[str, ...]]:
    """Median ns per pair; the last two columns are each allocator's worst ratio over the rows."""
    table = []
    for name in _order(result):
        values = result.medians[name]
        cells = [name] + [f"{values[row]:.2f}" if row in values else "-" for row, _ in ROWS]
        pairs = [ratios(result, name, row) for row, _ in ROWS]
        if name == FLOOR:
            cells += ["1.00x", "-"]
        else:
            cells += [_worst([p[0] for p in pairs]), _worst([p[1] for p in pairs])]
        table.append(tuple(cells))
    return table


def _ratio_text(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2f}"


def ratio_rows(result: Result) -> List[Tuple[str, ...]]:
    """Per row: ratio to the floor / ratio to the fastest peer."""
    table = []
    for name in _order(result):
        if name == FLOOR:
            continue
        cells = [name]
        for row, _ in ROWS:
            to_floor, to_peer = ratios(result, name, row)
            cells.append("-" if to_floor is None and to_peer is None else
                         f"{_ratio_text(to_floor)} / {_ratio_text(to_peer)}")
        table.append(tuple(cells))
    fastest = ["fastest peer"] + [fastest_peer(result, row)[0] or "-" for row, _ in ROWS]
    table.append(tuple(fastest))
    return table


NS_HEADER = ("allocator",) + tuple(title for _, title in ROWS) + ("worst vs floor", "worst vs fastest peer")
RATIO_HEADER = ("allocator",) + tuple(title for _, title in ROWS)


def sized_free_note(result: Result) -> str:
    spellings = sorted({f"{name}: {via['free_sized64']}" for name, via in result.via.items()
                        if via.get("free_sized64") and name != FLOOR})
    note = "sized free called as " + ", ".join(spellings) + " (none: that allocator has no sized free)"
    for name, error in sorted(result.failures.items()):
        note += f"\nFAILED: {name}: {error}"
    return note


def markdown_section(result: Result, runner: Runner) -> str:
    return "\n".join([
        f"Median ns per operation pair over {runner.rounds} interleaved round(s) "
        f"({runner.pairs} pairs x {runner.repetitions} repetitions per round, median of the "
        "repetitions), each allocator preloaded into benchmarks/fast_path/fast_path_loops, pinned to "
        "one CPU, CPU time of the thread. `floor` is libfloor_malloc.so, whose malloc and free do "
        "nothing: the cost of the calls through the PLT; it runs before and after every allocator. "
        "Ratios are medians over the rounds of each value divided by the floor runs beside it "
        "(and, to the fastest peer, by the lowest such ratio any peer had in that round), so a "
        "run the machine ran slow compares with a floor it ran as slow.", "",
        markdown(NS_HEADER, ns_rows(result)), "",
        "Ratio to the floor / ratio to the fastest peer (below 1 beats every peer):", "",
        markdown(RATIO_HEADER, ratio_rows(result)), "", sized_free_note(result), ""])


def text_section(result: Result) -> str:
    return "\n".join(["single-thread fast path, median ns per pair (pinned, thread CPU time, "
                      "floor = do-nothing library):", text(NS_HEADER, ns_rows(result)), "",
                      "ratio to the floor / to the fastest peer:", text(RATIO_HEADER, ratio_rows(result)),
                      sized_free_note(result)])


def write_csv(path: str, result: Result) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["allocator", "row", "ns_median", "ns_min", "ns_max", "via", "vs_floor",
                         "vs_fastest_peer", "fastest_peer"])
        for name in _order(result):
            for row, _ in ROWS:
                if row not in result.medians[name]:
                    continue
                low, high = result.spread[name][row]
                to_floor, to_peer = ratios(result, name, row)
                writer.writerow([name, row, f"{result.medians[name][row]:.3f}", f"{low:.3f}",
                                 f"{high:.3f}", result.via.get(name, {}).get(row, ""),
                                 "" if to_floor is None else f"{to_floor:.3f}",
                                 "" if to_peer is None else f"{to_peer:.3f}",
                                 fastest_peer(result, row)[0] or ""])

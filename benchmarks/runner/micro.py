"""Runs the Google Benchmark microbenchmarks (one binary, rseqmalloc and the system malloc side by
side) and pairs their rows: nanoseconds per operation for each and the ratio."""

import json
import os
import re
import subprocess
from typing import Dict, List, Optional, Tuple

from . import tables


NAME = re.compile(r"^(?P<bench>BM_\w+)<(?P<alloc>RseqMalloc|SystemMalloc)>(?P<args>(/[^_]*?)*?)"
                  r"(?:/real_time)?(?:_(?P<aggregate>median|mean|stddev|cv))?$")


def run(binary: str, out_dir: str, min_time: float, repetitions: int,
        filter_regex: Optional[str], env: Dict[str, str]) -> Tuple[str, List[Tuple[str, ...]]]:
    """Returns (path of the JSON output, paired rows)."""
    json_path = os.path.join(out_dir, "microbenchmarks.json")
    command = [binary, f"--benchmark_min_time={min_time:g}", "--benchmark_format=console",
               f"--benchmark_out={json_path}", "--benchmark_out_format=json"]
    if repetitions > 1:
        command += [f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true"]
    if filter_regex:
        command.append(f"--benchmark_filter={filter_regex}")
    env = dict(env)
    env.pop("LD_PRELOAD", None)  # the binary calls both allocators itself
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    with open(json_path) as f:
        return json_path, pair_rows(json.load(f)["benchmarks"])


def pair_rows(benchmarks: List[dict]) -> List[Tuple[str, ...]]:
    """(benchmark, rseqmalloc ns/op, system ns/op, ratio) per benchmark and argument, in run order.
    With repetitions only the median aggregate is used."""
    per_op: Dict[Tuple[str, str], Dict[str, float]] = {}
    order: List[Tuple[str, str]] = []
    for entry in benchmarks:
        match = NAME.match(entry["name"])
        if not match:
            continue
        aggregate = match.group("aggregate")
        if entry.get("run_type") == "aggregate" and aggregate != "median":
            continue
        key = (match.group("bench"), match.group("args").lstrip("/"))
        items_per_second = entry.get("items_per_second")
        if not items_per_second:
            continue
        if key not in per_op:
            per_op[key] = {}
            order.append(key)
        per_op[key][match.group("alloc")] = 1e9 / items_per_second
    rows = []
    for bench, args in order:
        values = per_op[(bench, args)]
        mine, system = values.get("RseqMalloc"), values.get("SystemMalloc")
        ratio = mine / system if mine and system else None
        name = bench[3:] + (f"/{args}" if args and args != "0" else "")
        rows.append((name, _ns(mine), _ns(system), "-" if ratio is None else f"{ratio:.2f}x"))
    return rows


def _ns(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.1f}"


HEADER = ("microbenchmark", "rseqmalloc ns/op", "system malloc ns/op", "rseqmalloc / system")


def text_table(rows: List[Tuple[str, ...]]) -> str:
    return tables.text(HEADER, rows)


def markdown_table(rows: List[Tuple[str, ...]]) -> str:
    return tables.markdown(HEADER, rows)


def write_csv(path: str, rows: List[Tuple[str, ...]]) -> None:
    with open(path, "w") as f:
        f.write("microbenchmark,rseqmalloc_ns_per_op,system_ns_per_op,ratio\n")
        for name, mine, system, ratio in rows:
            f.write(f"{name},{mine},{system},{ratio.rstrip('x')}\n")

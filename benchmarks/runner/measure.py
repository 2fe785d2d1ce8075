"""Runs one workload process and measures it: wall time, CPU time and peak RSS of the workload
process itself (wait4's rusage, taken by a tiny static helper so that nothing of the Python runner
is counted), plus the workload's RESULT line."""

import dataclasses
import os
import signal
import subprocess
import tempfile
from typing import Dict, List, Optional


@dataclasses.dataclass
class Measurement:
    wall_s: float
    cpu_s: float          # user + system
    peak_rss_kib: int     # ru_maxrss (KiB on Linux)
    exit_status: int      # negative: killed by that signal
    result: Dict[str, str]  # key=value pairs of the RESULT line
    error: str            # empty when the run and its self-check passed

    @property
    def ok(self) -> bool:
        return not self.error


def parse_result_line(stdout: str) -> Dict[str, str]:
    """Parses the last "RESULT key=value ..." line a workload prints."""
    fields: Dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            fields = {}
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                fields[key] = value
    return fields


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


def _parse_measured(text: str) -> Dict[str, int]:
    for line in text.splitlines():
        if line.startswith("MEASURED "):
            return {k: int(v) for k, _, v in (item.partition("=") for item in line.split()[1:])}
    return {}


def run_once(helper: str, command: List[str], env: Dict[str, str], timeout_s: float) -> Measurement:
    """Runs command through the measured_exec helper (see benchmarks/probe/measured_exec.cc)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r", prefix="measured-") as report:
        # A session of its own, so that a timeout kills the workload too, not just the helper.
        process = subprocess.Popen([helper, report.name] + command, env=env, stdout=out,
                                   stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            process.wait(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            timed_out = True
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode(errors="replace")
        stderr = err.read().decode(errors="replace")
        report.seek(0)
        measured = _parse_measured(report.read())

    result = parse_result_line(stdout)
    code = measured.get("status", 0)
    error = ""
    if timed_out:
        error = f"timed out after {timeout_s:g} s"
    elif not measured:
        error = f"no measurement from the helper (exit {process.returncode}): {_tail(stderr)}"
    elif code < 0:
        error = f"killed by signal {-code} ({signal.Signals(-code).name}): {_tail(stderr)}"
    elif result.get("check") not in (None, "ok"):
        error = f"self-check failed ({result.get('failures', '?')} failures): {_tail(stderr)}"
    elif code != 0:
        error = f"exit status {code}: {_tail(stderr)}"
    elif result.get("check") != "ok":
        error = "no RESULT line with check=ok"
    return Measurement(measured.get("wall_ns", 0) / 1e9,
                       (measured.get("utime_us", 0) + measured.get("stime_us", 0)) / 1e6,
                       measured.get("maxrss_kib", 0), code, result, error)


def result_number(measurement: Measurement, key: str) -> Optional[float]:
    try:
        return float(measurement.result[key])
    except (KeyError, ValueError):
        return None

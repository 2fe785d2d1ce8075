"""What a result depends on, stated at the top of every report: the machine (CPU model, cores),
kernel, glibc, each allocator's version, and the rseq mode rseqmalloc runs in."""

import os
import platform
import subprocess
from typing import Dict, List, Optional, Tuple

from .allocators import Allocator


def _run(command: List[str], env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None) -> str:
    try:
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"({error})"
    return (done.stdout or done.stderr).strip()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def glibc_version() -> str:
    _, version = platform.libc_ver()
    return version or "unknown"


def package_version(package: str) -> str:
    out = _run(["dpkg-query", "-W", "-f=${Version}", package])
    return out if out and "no packages found" not in out else "not installed"


def rseqmalloc_version(repo_root: str) -> str:
    described = _run(["git", "describe", "--always", "--dirty", "--tags"], cwd=repo_root)
    return f"git {described}" if described and not described.startswith("(") else "unknown"


def rseq_status(probe: str, allocator: Allocator) -> str:
    """Runs the probe under the allocator's preload and environment: the status line of the mode
    this allocator entry really runs in."""
    if not os.path.exists(probe):
        return f"unknown (probe {probe} not built)"
    return _run([probe], env=allocator.environment(dict(os.environ))) or "unknown (no output)"


def describe(repo_root: str, probe: str, allocators: List[Allocator]) -> List[Tuple[str, str]]:
    facts = [
        ("machine", f"{cpu_model()}, {os.cpu_count()} cores"),
        # Other work on the machine is the usual reason for noisy numbers: say how busy it was.
        ("load average", " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min) at start"),
        ("kernel", platform.release()),
        ("glibc", f"{glibc_version()} (libc6 {package_version('libc6')})"),
    ]
    for allocator in allocators:
        if allocator.name == "glibc":
            continue
        version = (package_version(allocator.package) if allocator.package
                   else rseqmalloc_version(repo_root))
        facts.append((allocator.name, version))
    for allocator in allocators:
        if allocator.package is None:
            facts.append((f"rseq status ({allocator.name})", rseq_status(probe, allocator)))
    return facts

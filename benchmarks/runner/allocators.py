"""The allocators a comparison run covers and how each is swapped into a workload process."""

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

LIBDIR = "/usr/lib/x86_64-linux-gnu"

# glibc's tunable that keeps glibc from registering rseq, so rseqmalloc registers its own
# (optimized, where the kernel offers it) area.
OWN_REGISTRATION_ENV = {"GLIBC_TUNABLES": "glibc.pthread.rseq=0"}


@dataclasses.dataclass(frozen=True)
class Allocator:
    name: str
    description: str
    # Shared object to LD_PRELOAD, or None for the system malloc.
    preload: Optional[str]
    # Debian package whose version is reported (None: the version comes from git).
    package: Optional[str]
    # Peers are the allocators rseqmalloc is compared against; ratios are to the best peer.
    is_peer: bool
    extra_env: Tuple[Tuple[str, str], ...] = ()

    def environment(self, base: Dict[str, str]) -> Dict[str, str]:
        env = dict(base)
        env.pop("LD_PRELOAD", None)
        if self.preload:
            env["LD_PRELOAD"] = self.preload
        env.update(dict(self.extra_env))
        return env


def all_allocators(rseqmalloc_so: str) -> List[Allocator]:
    return [
        Allocator("rseqmalloc", "rseqmalloc, default mode (glibc owns the rseq registration)",
                  rseqmalloc_so, None, False),
        Allocator("rseqmalloc-own", "rseqmalloc with its own registration "
                  "(GLIBC_TUNABLES=glibc.pthread.rseq=0)", rseqmalloc_so, None, False,
                  tuple(OWN_REGISTRATION_ENV.items())),
        Allocator("glibc", "glibc malloc (the system allocator)", None, "libc6", True),
        Allocator("jemalloc", "jemalloc", os.path.join(LIBDIR, "libjemalloc.so.2"),
                  "libjemalloc2", True),
        Allocator("tcmalloc", "gperftools tcmalloc (minimal)",
                  os.path.join(LIBDIR, "libtcmalloc_minimal.so.4"), "libtcmalloc-minimal4", True),
        Allocator("mimalloc", "mimalloc", os.path.join(LIBDIR, "libmimalloc.so.2"),
                  "libmimalloc2.0", True),
    ]


# rseqmalloc keys its per-CPU slots by mm_cid where the kernel has it; the fast-path table also runs
# each rseqmalloc mode keyed by cpu_id, so that both keys are measured.
CPU_ID_KEY_ENV = {"RSEQMALLOC_SLOT_KEY": "cpu_id"}


def with_cpu_id_key(allocators: List[Allocator]) -> List[Allocator]:
    """The allocators, each rseqmalloc mode followed by the same mode keyed by cpu_id."""
    out = []
    for allocator in allocators:
        out.append(allocator)
        if allocator.package is None:
            out.append(dataclasses.replace(
                allocator, name=allocator.name + " cpu_id",
                description=allocator.description + ", slots keyed by cpu_id",
                extra_env=allocator.extra_env + tuple(CPU_ID_KEY_ENV.items())))
    return out


def select(allocators: List[Allocator], wanted: Optional[List[str]]) -> Tuple[List[Allocator], List[str]]:
    """Returns the allocators to run (wanted ones that exist) and a note for each one skipped."""
    known = {a.name for a in allocators}
    notes = []
    if wanted:
        for name in wanted:
            if name not in known:
                raise SystemExit(f"unknown allocator '{name}' (known: {', '.join(sorted(known))})")
    chosen = []
    for allocator in allocators:
        if wanted and allocator.name not in wanted:
            continue
        if allocator.preload and not os.path.exists(allocator.preload):
            notes.append(f"skipped {allocator.name}: {allocator.preload} not found"
                         + (f" (install {allocator.package})" if allocator.package else
                            " (build //allocator:librseqmalloc.so)"))
            continue
        chosen.append(allocator)
    return chosen, notes

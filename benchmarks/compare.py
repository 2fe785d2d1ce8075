#!/usr/bin/env python3
"""Compares rseqmalloc with the system malloc, jemalloc, tcmalloc and mimalloc: see
docs/benchmarks.md, or run with --help. Normally started by ./run-benchmarks, which builds first."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from runner import cli  # noqa: E402

if __name__ == "__main__":
    sys.exit(cli.main(sys.argv[1:]))

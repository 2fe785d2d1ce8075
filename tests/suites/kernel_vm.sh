#!/usr/bin/env bash
# rseqmalloc on Linux 7.3 (x86_64 with time-slice extension, arm64) and 6.1 (arm64) under qemu.
# Quick mode: shorter stress phases so that the suite fits a CI run (~3 min with a warm cache,
# ~15 min cold). See docs/kernel_vm.md.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "$root/tests/kernel_vm/run.sh" --quick

#!/usr/bin/env bash
# rseqmalloc on Linux 7.3 (x86_64 with time-slice extension, arm64) and 6.1 (arm64) under qemu.
# Quick mode: shorter stress phases so that the suite fits a CI run (~4 min with a warm cache:
# three boots of 60-80 s; cold, the x86_64 kernel build dominates). Exits 1 if any guest check
# failed or an expected one did not run; skipped checks are counted and printed. See
# docs/kernel_vm.md.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "$root/tests/kernel_vm/run.sh" --quick

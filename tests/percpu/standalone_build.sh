#!/bin/sh
# Builds tests/percpu/standalone_check.cc with a plain compiler (no Bazel), statically, for the
# host and for aarch64, and runs what it can:
#   * host static binary: in the glibc-owned and own-registration modes (static glibc registers
#     rseq too, which exercises the weak __rseq_offset/__rseq_size references in a static link);
#   * aarch64: the build must succeed and contain the rseq sections; it runs under qemu-aarch64
#     (user mode has no rseq, so the "unavailable" fallback is what runs) only if that exists.
# Usage: standalone_build.sh [OUTDIR]   (run from the repository root, or under Bazel)
set -eu
if [ -n "${TEST_SRCDIR:-}" ]; then cd "$TEST_SRCDIR/rseqmalloc"; fi
out=${1:-${TEST_TMPDIR:-$(mktemp -d)}}
mkdir -p "$out"
srcs="percpu/cpu_mask.cc percpu/fence.cc percpu/per_cpu_slab.cc percpu/possible_cpus.cc percpu/rseq_registration.cc
      percpu/rseq_status.cc percpu/slice_extension.cc tests/percpu/standalone_check.cc"
flags="-std=c++17 -O2 -Wall -Wextra -Werror -I. -static -pthread"

fail=0
build() {  # compiler output
  if ! command -v "$1" >/dev/null 2>&1; then echo "SKIP: $1 not installed"; return 1; fi
  # shellcheck disable=SC2086
  "$1" $flags $srcs -o "$2"
}
has_rseq_sections() {  # objdump binary
  for s in __rseq_cs __rseq_cs_ptr_array __rseq_failure; do
    "$1" -h "$2" | grep -q " $s " || { echo "FAIL: $2 has no section $s"; return 1; }
  done
}

native=$out/standalone_check_native
build g++ "$native"
has_rseq_sections objdump "$native" || fail=1
"$native" --expect-owner=glibc || fail=1
GLIBC_TUNABLES=glibc.pthread.rseq=0 "$native" cpu_id --expect-owner=own || fail=1
"$native" off --expect-owner=none || fail=1

arm=$out/standalone_check_aarch64
if ! command -v aarch64-linux-gnu-g++ >/dev/null 2>&1; then
  # Only "tools/bootstrap.sh vm" installs the cross compiler; without it this part cannot run.
  echo "SKIP: aarch64-linux-gnu-g++ not installed (tools/bootstrap.sh vm); aarch64 build not checked"
elif build aarch64-linux-gnu-g++ "$arm"; then
  has_rseq_sections aarch64-linux-gnu-objdump "$arm" || fail=1
  # The abort handlers must be preceded by glibc's aarch64 signature (brk #0x45e0).
  aarch64-linux-gnu-objdump -d -j __rseq_failure "$arm" | grep -q 'd428bc00' ||
    { echo "FAIL: no aarch64 rseq signature"; fail=1; }
  echo "aarch64 static build OK: $(wc -c < "$arm") bytes"
  if command -v qemu-aarch64 >/dev/null 2>&1; then
    qemu-aarch64 "$arm" --expect-owner=none || fail=1
  else
    echo "SKIP: qemu-aarch64 not installed, aarch64 binary not run"
  fi
else
  fail=1
fi
[ "$fail" = 0 ] && echo "standalone_build: PASS" || echo "standalone_build: FAIL"
exit "$fail"

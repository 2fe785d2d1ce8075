#!/usr/bin/env bash
# What the scheduler time-slice extension buys, measured in the Linux 7.3 x86_64 guest under
# qemu (TCG, 2 vCPUs): builds the workload and a guest /init statically, packs them into an
# initramfs of their own, boots the kernel that tests/kernel_vm builds (with
# CONFIG_RSEQ_SLICE_EXTENSION and CONFIG_RSEQ_STATS), and prints a table of the runs with the
# allocator's extension on and off, at the kernel's default grant length and at 50 us.
# A benchmark, not a test: it is not part of ./run-tests.
#
#   benchmarks/slice_extension/run.sh [--reps N] [--smp N] [-- refill_contention args...]
#     --reps N   interleaved repetitions per configuration (default 5)
#     --smp N    vCPUs (default 2)
#     --kernel F another x86_64 kernel image (e.g. one without the extension, to try the plumbing)
#     after --, e.g. --threads 8 --seconds 2 --batch 4096 --size 128 (the defaults)
# Environment: RSEQMALLOC_CACHE as for tests/kernel_vm/run.sh; the guest log is written to
# $RSEQMALLOC_CACHE/kernels/run/slice_extension.log.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
vm="$root/tests/kernel_vm"
cache="${RSEQMALLOC_CACHE:-$HOME/.cache/rseqmalloc}/kernels"
reps=5; smp=2; kernel=""; workload_args=()
while (($#)); do
  case "$1" in
    --reps) reps=$2; shift ;;
    --smp) smp=$2; shift ;;
    --kernel) kernel=$2; shift ;;
    --) shift; workload_args=("$@"); break ;;
    *) echo "usage: $0 [--reps N] [--smp N] [--kernel F] [-- refill_contention args...]" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$cache/run" "$cache/debs"

"$root/tools/bootstrap.sh" vm
# The kernel: tests/kernel_vm's build script returns its cached bzImage, or builds it once.
if [[ -z "$kernel" ]]; then
  deb=$(ls "$cache"/debs/linux-source-7.3_*_all.deb 2>/dev/null | sort -V | tail -1)
  if [[ -z "$deb" ]]; then
    echo "slice_extension: no linux-source-7.3 package in $cache/debs; run tests/kernel_vm/run.sh --guest x86_64-7.3 once" >&2
    exit 1
  fi
  kernel=$("$vm/build_x86_64_kernel.sh" "$cache" "$deb")
fi

# Static guest programs, in the same separate output directory as the kernel_vm harness.
static_flags=(--platform_suffix=-kvmstatic --dynamic_mode=off --linkopt=-static)
cd "$root"
bazel build --noshow_progress "${static_flags[@]}" //benchmarks/slice_extension:refill_contention \
  //benchmarks/slice_extension:bench_init
bin=$(bazel info "${static_flags[@]}" bazel-bin 2>/dev/null)
initramfs="$cache/run/slice_extension.cpio"
python3 "$vm/mkinitramfs.py" "$initramfs" "/init=$bin/benchmarks/slice_extension/bench_init" \
  "/bin/refill_contention=$bin/benchmarks/slice_extension/refill_contention"

log="$cache/run/slice_extension.log"
args=$(IFS=,; echo "${workload_args[*]:-}")
echo "slice_extension: booting $kernel with $smp vCPUs, $reps reps per configuration"
timeout 1800 qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 1024 -smp "$smp" \
  -kernel "$kernel" -initrd "$initramfs" -nographic -no-reboot \
  -append "console=ttyS0 panic=-1 quiet SLICEBENCH_REPS=$reps SLICEBENCH_ARGS=$args" \
  </dev/null | tr -d '\r' | tee "$log" | grep --line-buffered -E '^SLICE' || true
grep -q '^SLICEBENCH-DONE' "$log" || { echo "slice_extension: guest did not finish (log: $log)"; exit 1; }
python3 "$here/summarize.py" "$log"

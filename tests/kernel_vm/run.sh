#!/usr/bin/env bash
# Proves rseqmalloc on the kernels that matter, under qemu (TCG):
#   x86_64-7.3  our small 7.3 build with time-slice extension (V2 rseq, mm_cid, rseq/stats)
#   arm64-7.3   Debian's prebuilt 7.3 arm64 kernel (V2 rseq, mm_cid, no slice extension)
#   arm64-6.1   bookworm's 6.1 arm64 kernel (no AT_RSEQ_FEATURE_SIZE, mm_cid always 0)
# Each guest boots a static /init (guest_init.cc) that probes the kernel with raw syscalls, runs
# the allocator stress program and the GoogleTest binaries of guest_tests.txt with and without
# glibc's rseq registration, and prints one CHECK line per verdict. This script prints them all,
# then the guests' status lines and counters, and exits non-zero if any check failed.
#
#   tests/kernel_vm/run.sh [--quick] [--guest NAME]...
#     --quick        shorter stress phases (the CI mode; run-tests uses it)
#     --guest NAME   only this guest (repeatable); default: all three
# Environment: RSEQMALLOC_CACHE (default ~/.cache/rseqmalloc): downloads, kernels and guest
# builds are kept in $RSEQMALLOC_CACHE/kernels, never in the checkout.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${RSEQMALLOC_CACHE:-$HOME/.cache/rseqmalloc}/kernels"
quick=0
guests=()
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --guest) guests+=("$2"); shift ;;
    *) echo "usage: $0 [--quick] [--guest x86_64-7.3|arm64-7.3|arm64-6.1]..." >&2; exit 2 ;;
  esac
  shift
done
((${#guests[@]})) || guests=(x86_64-7.3 arm64-7.3 arm64-6.1)
mkdir -p "$cache/debs" "$cache/run"
start=$SECONDS
failures=0
fail() { echo "kernel_vm: FAIL $*"; failures=$((failures + 1)); }
step() { echo "kernel_vm: [$((SECONDS - start))s] $*"; }

"$root/tools/bootstrap.sh" vm || { echo "kernel_vm: FAIL bootstrap"; exit 1; }

# --- Debian packages: a cached .deb is used as is; otherwise the private apt finds the newest. ---
apt_updated=0
deb_for() {  # <package-name regex> <arch> <cached-file glob>  -> prints the .deb path
  local regex=$1 arch=$2 glob=$3 cached pkg
  cached=$(ls "$cache"/debs/$glob 2>/dev/null | sort -V | tail -1)
  if [[ -n "$cached" ]]; then echo "$cached"; return; fi
  if ((!apt_updated)); then "$here/private_apt.sh" "$cache" update || return 1; apt_updated=1; fi
  pkg=$("$here/private_apt.sh" "$cache" search "$regex" | awk '{print $1}' | sort -V | tail -1)
  [[ -n "$pkg" ]] || { echo "kernel_vm: no package matches $regex" >&2; return 1; }
  echo "kernel_vm: downloading $pkg:$arch" >&2
  "$here/private_apt.sh" "$cache" download "$pkg:$arch" "$cache/debs"
}

# Unpacks a kernel package once and prints the path of its kernel image.
unpacked_kernel() {  # <deb> <image glob inside the package>
  local deb=$1 glob=$2 dir
  dir="$cache/$(basename "$deb" .deb)"
  if [[ ! -d "$dir" ]]; then
    dpkg-deb -x "$deb" "$dir.tmp" && mv "$dir.tmp" "$dir" || return 1
  fi
  ls $dir/$glob 2>/dev/null | head -1
}

declare -A kernel
for g in "${guests[@]}"; do
  case "$g" in
    x86_64-7.3)
      step "x86_64 7.3 kernel"
      deb=$(deb_for '^linux-source-7\.3$' all 'linux-source-7.3_*_all.deb') &&
        kernel[$g]=$("$here/build_x86_64_kernel.sh" "$cache" "$deb") || fail "x86_64-7.3 kernel (download or build)" ;;
    arm64-7.3)
      step "arm64 7.3 kernel (Debian prebuilt)"
      deb=$(deb_for '^linux-binary-unsigned-7\.3\.[0-9]+\+deb[0-9]+-arm64$' arm64 \
                    'linux-binary-unsigned-7.3.*-arm64_*_arm64.deb') &&
        kernel[$g]=$(unpacked_kernel "$deb" 'usr/lib/modules/*/vmlinuz.unsigned') || fail "arm64-7.3 kernel download" ;;
    arm64-6.1)
      step "arm64 6.1 kernel (bookworm)"
      deb=$(deb_for '^linux-image-6\.1\.0-[0-9]+-arm64$' arm64 'linux-image-6.1.0-*-arm64_*_arm64.deb') &&
        kernel[$g]=$(unpacked_kernel "$deb" 'boot/vmlinuz-*') || fail "arm64-6.1 kernel download" ;;
    *) fail "unknown guest $g" ;;
  esac
done

# --- Guest programs. ---
mapfile -t gtests < <(grep -vE '^\s*(#|$)' "$here/guest_tests.txt" | awk '{print $1}')
declare -A initramfs
need_x86=0; need_arm=0
for g in "${guests[@]}"; do [[ $g == x86_64-* ]] && need_x86=1; [[ $g == arm64-* ]] && need_arm=1; done

if ((need_x86)); then
  step "x86_64 guest programs (bazel, static)"
  # A separate output directory (platform suffix) keeps these static links from replacing the
  # normal build's outputs.
  static_flags=(--platform_suffix=-kvmstatic --dynamic_mode=off --linkopt=-static)
  cd "$root"
  if bazel query --noshow_progress "kind('source file', deps(//tests/kernel_vm:alloc_stress))" \
       2>/dev/null | grep -q placeholder; then
    stress_target=//tests/kernel_vm:alloc_stress_system_malloc
    echo "kernel_vm: NOTE allocator is the glibc-forwarding placeholder: alloc_stress uses glibc's malloc"
  else
    stress_target=//tests/kernel_vm:alloc_stress
  fi
  if bazel build --noshow_progress "${static_flags[@]}" //tests/kernel_vm:guest_init \
       "$stress_target" "${gtests[@]}" > "$cache/run/bazel-x86_64.log" 2>&1; then
    bin=$(bazel info "${static_flags[@]}" bazel-bin 2>/dev/null)
    entries=("/init=$bin/tests/kernel_vm/guest_init"
             "/bin/alloc_stress=$bin/$(sed 's|^//||; s|:|/|' <<<"$stress_target")")
    for t in "${gtests[@]}"; do
      entries+=("/tests/${t##*:}=$bin/$(sed 's|^//||; s|:|/|' <<<"$t")")
    done
    python3 "$here/mkinitramfs.py" "$cache/run/x86_64.cpio" "${entries[@]}" &&
      initramfs[x86_64]="$cache/run/x86_64.cpio" || fail "x86_64 initramfs"
  else
    tail -40 "$cache/run/bazel-x86_64.log"
    fail "x86_64 static build of the guest programs (log: $cache/run/bazel-x86_64.log)"
  fi
fi

if ((need_arm)); then
  step "aarch64 guest programs (cross compiler)"
  out="$cache/guest-aarch64"
  if "$here/build_guest_aarch64.sh" "$out" "$cache/guest-aarch64-work" > "$cache/run/build-aarch64.log" 2>&1; then
    grep -h 'NOTE\|placeholder' "$cache/run/build-aarch64.log" || true
    entries=("/init=$out/init" "/bin/alloc_stress=$out/alloc_stress")
    for t in "$out"/tests/*; do [[ -e "$t" ]] && entries+=("/tests/$(basename "$t")=$t"); done
    python3 "$here/mkinitramfs.py" "$cache/run/aarch64.cpio" "${entries[@]}" &&
      initramfs[aarch64]="$cache/run/aarch64.cpio" || fail "aarch64 initramfs"
  else
    tail -40 "$cache/run/build-aarch64.log"
    fail "aarch64 cross build of the guest programs (log: $cache/run/build-aarch64.log)"
  fi
fi

# --- Boot. ---
boot() {  # <guest> -> log in $cache/run/<guest>.log
  local g=$1 log="$cache/run/$1.log" args="panic=-1 quiet RSEQMALLOC_VM_GUEST=$1 RSEQMALLOC_VM_QUICK=$quick"
  local qemu
  case "$g" in
    x86_64-*) qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 512 -smp 2
                    -kernel "${kernel[$g]}" -initrd "${initramfs[x86_64]}"
                    -append "console=ttyS0 $args") ;;
    arm64-*) qemu=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -accel tcg,thread=multi
                   -m 1024 -smp 2 -kernel "${kernel[$g]}" -initrd "${initramfs[aarch64]}"
                   -append "console=ttyAMA0 $args") ;;
  esac
  timeout 300 "${qemu[@]}" -nographic -no-reboot </dev/null >"$log" 2>&1
  local rc=$?
  tr -d '\r' <"$log" >"$log.clean" && mv "$log.clean" "$log"
  return $rc
}

reports=()
for g in "${guests[@]}"; do
  arch=x86_64; [[ $g == arm64-* ]] && arch=aarch64
  [[ -n "${kernel[$g]:-}" && -n "${initramfs[$arch]:-}" ]] || { fail "$g not booted (missing kernel or initramfs)"; continue; }
  step "booting $g"
  boot "$g"; rc=$?
  log="$cache/run/$g.log"
  grep -E '^CHECK ' "$log" | sed "s/^CHECK /  $g: /"
  summary=$(grep -E '^KVM-SUMMARY ' "$log" | tail -1)
  mapfile -t -O "${#reports[@]}" reports < <(grep -E '^KVM-REPORT ' "$log" | sed 's/^KVM-REPORT //')
  if [[ -z "$summary" ]]; then
    tail -30 "$log"
    fail "$g: no summary (qemu exit $rc; guest crashed or timed out; log: $log)"
  elif ! grep -q ' failed=0 ' <<<"$summary" || grep -qE '^CHECK [^:]*: FAIL' "$log"; then
    fail "$g: ${summary#KVM-SUMMARY } (log: $log)"
  else
    echo "kernel_vm: PASS $g: ${summary#KVM-SUMMARY }"
  fi
done

echo "kernel_vm: ---- guest reports ----"
printf '  %s\n' "${reports[@]}"
echo "kernel_vm: total $((SECONDS - start))s, quick=$quick, logs in $cache/run/"
if ((failures)); then
  echo "kernel_vm: FAILED ($failures failure(s))"
  exit 1
fi
echo "kernel_vm: PASSED"

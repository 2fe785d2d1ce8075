#!/usr/bin/env bash
# Proves rseqmalloc on the kernels that matter, under qemu (TCG):
#   x86_64-7.3  our small 7.3 build with time-slice extension (V2 rseq, mm_cid, rseq/stats)
#   arm64-7.3   Debian's prebuilt 7.3 arm64 kernel (V2 rseq, mm_cid, no slice extension)
#   arm64-6.1   bookworm's 6.1 arm64 kernel (no AT_RSEQ_FEATURE_SIZE, mm_cid always 0)
# Each guest boots a static /init (guest_init.cc) that probes the kernel with raw syscalls, runs
# the allocator stress program and the GoogleTest binaries of guest_tests.txt with and without
# glibc's rseq registration (and, on x86_64-7.3, dynamically linked against Debian trixie's glibc
# 2.41, which registers an optimized area itself), and prints one CHECK line per verdict. This
# script prints them all, checks that every expected check ran, prints the guests' status lines
# and counters and the totals ("N passed, M failed, K skipped"), and exits non-zero if any check
# failed or did not run. Before booting it compiles arch/rseq_abi.h's offsets against Linux 7.3's
# own uapi header (uapi_layout_check.cc).
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

# --- The struct rseq / slice_ctrl layout rseqmalloc hard-codes, against Linux 7.3's uapi header. ---
uapi_headers() {  # <linux-source .deb> -> prints a directory holding linux/rseq.h
  local deb=$1 dir
  dir="$cache/uapi-$(dpkg-deb -f "$deb" Version)"
  if [[ ! -s "$dir/linux/rseq.h" ]]; then
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/linux"
    dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/src/linux-source-*.tar.xz' |
      tar -xJO --wildcards '*/include/uapi/linux/rseq.h' > "$dir.tmp/linux/rseq.h" &&
      [[ -s "$dir.tmp/linux/rseq.h" ]] && rm -rf "$dir" && mv "$dir.tmp" "$dir" || return 1
  fi
  echo "$dir"
}
source_deb=$(ls "$cache"/debs/linux-source-7.3_*_all.deb 2>/dev/null | sort -V | tail -1)
if [[ -n "$source_deb" ]]; then
  step "struct rseq layout against Linux 7.3's include/uapi/linux/rseq.h"
  if uapi=$(uapi_headers "$source_deb"); then
    for cxx in g++ aarch64-linux-gnu-g++; do
      if "$cxx" -std=c++17 -fsyntax-only -I"$uapi" -I"$root" "$here/uapi_layout_check.cc"; then
        echo "kernel_vm: PASS uapi layout ($cxx)"
      else
        fail "arch/rseq_abi.h disagrees with Linux 7.3's uapi rseq.h ($cxx)"
      fi
    done
  else
    fail "could not unpack include/uapi/linux/rseq.h from $source_deb"
  fi
else
  fail "uapi layout check: no linux-source-7.3 package (needed by the x86_64-7.3 guest)"
fi

# --- Guest programs. ---
mapfile -t gtests < <(grep -vE '^\s*(#|$)' "$here/guest_tests.txt" | awk '{print $1}')
# Dynamically linked programs for the glibc 2.41 configuration of x86_64-7.3: what a
# distribution of tomorrow runs (glibc owns an optimized registration, rseqmalloc reuses it).
glibc241_tests=(//tests/percpu:rseq_registration_test_bin //tests/percpu:slice_extension_test_bin
                //tests/percpu:per_cpu_slab_test_bin //tests/allocator:vfork_child_test_bin)
names_of() { local t out=(); for t in "$@"; do out+=("${t##*:}"); done; (IFS=,; echo "${out[*]}"); }
declare -A initramfs
need_x86=0; need_arm=0
for g in "${guests[@]}"; do [[ $g == x86_64-* ]] && need_x86=1; [[ $g == arm64-* ]] && need_arm=1; done

# Initramfs entries for the glibc 2.41 configuration: trixie's ld.so, libc and libm, the build
# machine's libstdc++ and libgcc_s (they need nothing newer than bookworm's glibc), and the
# dynamically linked programs from the normal Bazel output.
glibc241_entries() {
  local deb dir lib bin t needed
  deb=$(deb_for '^libc6$' amd64/trixie 'libc6_2.41*_amd64.deb') || return 1
  dir="$cache/$(basename "$deb" .deb)"
  [[ -d "$dir" ]] || { dpkg-deb -x "$deb" "$dir.tmp" && mv "$dir.tmp" "$dir"; } || return 1
  lib="$dir/usr/lib/x86_64-linux-gnu"
  bazel build --noshow_progress //tests/kernel_vm:alloc_stress_dynamic "${glibc241_tests[@]}" \
    > "$cache/run/bazel-x86_64-glibc241.log" 2>&1 || { tail -30 "$cache/run/bazel-x86_64-glibc241.log" >&2; return 1; }
  bin=$(bazel info bazel-bin 2>/dev/null)
  echo "/lib64/ld-linux-x86-64.so.2=$lib/ld-linux-x86-64.so.2"
  echo "/usr/lib/x86_64-linux-gnu/libc.so.6=$lib/libc.so.6"
  echo "/usr/lib/x86_64-linux-gnu/libm.so.6=$lib/libm.so.6"
  echo "/usr/lib/x86_64-linux-gnu/libstdc++.so.6=$(readlink -f /usr/lib/x86_64-linux-gnu/libstdc++.so.6)"
  echo "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1=$(readlink -f /usr/lib/x86_64-linux-gnu/libgcc_s.so.1)"
  echo "/glibc241/alloc_stress=$bin/tests/kernel_vm/alloc_stress_dynamic"
  for t in "${glibc241_tests[@]}"; do
    echo "/glibc241/tests/${t##*:}=$bin/$(sed 's|^//||; s|:|/|' <<<"$t")"
  done
  # Every library the programs need must be one of those shipped above (ld.so is named by
  # programs that use its symbols, e.g. __rseq_offset or __libc_stack_end).
  for t in "$bin/tests/kernel_vm/alloc_stress_dynamic" "${glibc241_tests[@]}"; do
    [[ $t == //* ]] && t="$bin/$(sed 's|^//||; s|:|/|' <<<"$t")"
    needed=$(readelf -d "$t" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
             grep -vxE 'ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1' || true)
    [[ -z "$needed" ]] || { echo "kernel_vm: $t needs $needed, not in the initramfs" >&2; return 1; }
  done
}

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
    if [[ " ${guests[*]} " == *" x86_64-7.3 "* ]]; then
      step "glibc 2.41 (Debian trixie) programs for x86_64-7.3"
      if glibc_entries=$(glibc241_entries); then
        mapfile -t -O "${#entries[@]}" entries <<<"$glibc_entries"
      else
        fail "x86_64-7.3 glibc 2.41 programs (download, build or libraries)"
      fi
    fi
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
  local g=$1 log="$cache/run/$1.log"
  local args="panic=-1 quiet RSEQMALLOC_VM_GUEST=$1 RSEQMALLOC_VM_QUICK=$quick RSEQMALLOC_VM_TESTS=$(names_of "${gtests[@]}")"
  [[ $g == x86_64-7.3 ]] && args+=" RSEQMALLOC_VM_GLIBC241_TESTS=$(names_of "${glibc241_tests[@]}")"
  local qemu
  case "$g" in
    x86_64-*) qemu=(qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 1024 -smp 2
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

# Checks every guest must print (PASS or SKIP): a missing one means it never ran, which fails.
expected_checks() {  # <guest>
  local g=$1 t v
  echo kernel.version probe.own.ran probe.glibc.registration \
       kernel.ro.longest_registration_write kernel.ro.legacy_registration_write
  for v in own glibc; do
    echo alloc.$v.stress alloc.$v.status alloc.$v.status_stable alloc.$v.slice_ext_counters \
         alloc.$v.kernel_owned_write
    for t in "${gtests[@]}"; do echo "gtest.${t##*:}.$v"; done
  done
  if [[ $g == x86_64-7.3 ]]; then
    echo probe.own.slice_grants kernel.stats.grants_during_own_alloc \
         alloc.glibc241.stress alloc.glibc241.status alloc.glibc241.status_stable alloc.glibc241.libc \
         alloc.glibc241.slice_ext_counters alloc.glibc241.kernel_owned_write \
         kernel.stats.grants_during_glibc241_alloc
    for t in "${glibc241_tests[@]}"; do echo "gtest.${t##*:}.glibc241"; done
  fi
}

reports=()
total_passed=0; total_failed=0; total_skipped=0
for g in "${guests[@]}"; do
  arch=x86_64; [[ $g == arm64-* ]] && arch=aarch64
  [[ -n "${kernel[$g]:-}" && -n "${initramfs[$arch]:-}" ]] || { fail "$g not booted (missing kernel or initramfs)"; continue; }
  step "booting $g"
  boot "$g"; rc=$?
  log="$cache/run/$g.log"
  grep -E '^CHECK ' "$log" | sed "s/^CHECK /  $g: /"
  summary=$(grep -E '^KVM-SUMMARY ' "$log" | tail -1)
  mapfile -t -O "${#reports[@]}" reports < <(grep -E '^KVM-REPORT ' "$log" | sed 's/^KVM-REPORT //')
  missing=()
  for c in $(expected_checks "$g"); do
    grep -qE "^CHECK ${c//./\\.}: (PASS|SKIP|FAIL)" "$log" || missing+=("$c")
  done
  if [[ -n "$summary" ]]; then
    total_passed=$((total_passed + $(sed -n 's/.* passed=\([0-9]*\).*/\1/p' <<<"$summary")))
    total_failed=$((total_failed + $(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$summary")))
    total_skipped=$((total_skipped + $(sed -n 's/.* skipped=\([0-9]*\).*/\1/p' <<<"$summary")))
  fi
  if [[ -z "$summary" ]]; then
    tail -30 "$log"
    fail "$g: no summary (qemu exit $rc; guest crashed or timed out; log: $log)"
  elif ((${#missing[@]})); then
    fail "$g: expected checks did not run: ${missing[*]} (log: $log)"
  elif grep -q ' passed=0 ' <<<"$summary"; then
    fail "$g: no check passed (${summary#KVM-SUMMARY })"
  elif ! grep -q ' failed=0 ' <<<"$summary" || grep -qE '^CHECK [^:]*: FAIL' "$log"; then
    fail "$g: ${summary#KVM-SUMMARY } (log: $log)"
  else
    echo "kernel_vm: PASS $g: ${summary#KVM-SUMMARY }"
  fi
done

echo "kernel_vm: ---- guest reports ----"
printf '  %s\n' "${reports[@]}"
echo "kernel_vm: total $((SECONDS - start))s, quick=$quick, logs in $cache/run/"
echo "kernel_vm: guest checks: $total_passed passed, $total_failed failed, $total_skipped skipped"
if ((failures)); then
  echo "kernel_vm: FAILED ($failures failure(s))"
  exit 1
fi
echo "kernel_vm: PASSED"

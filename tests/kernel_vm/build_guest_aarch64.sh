#!/usr/bin/env bash
# Cross-builds the aarch64 guest programs with aarch64-linux-gnu-g++ -static, because this
# Bazel setup has no aarch64 toolchain. The file list is Bazel's own: `bazel query` names every
# source file of the x86_64 targets (so new files under arch/, percpu/, allocator/ are picked up
# as soon as a BUILD file names them); x86-only sources are dropped. Without a working Bazel the
# script falls back to globbing the layer directories.
#
#   build_guest_aarch64.sh <out-dir> <work-dir>
# Produces <out-dir>/init, <out-dir>/alloc_stress and <out-dir>/tests/<name> for each label in
# guest_tests.txt. Rebuilds only when a source, header or the compiler changed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out=$1; work=$2
cxx=aarch64-linux-gnu-g++
cc=aarch64-linux-gnu-gcc
gtest_src=/usr/src/googletest
cd "$root"
mkdir -p "$out" "$work/obj"

# Repository-relative source files (.cc .c .S .s) that Bazel would compile for a label.
bazel_sources() {
  bazel query --noshow_progress "kind('source file', deps($1))" 2>/dev/null |
    sed -n 's|^//\([^:]*\):\(.*\)$|\1/\2|p' | sed 's|^/||' | grep -E '\.(cc|c|S|s)$' |
    grep -viE '(^|[/_.-])x86(_64)?([/_.-]|$)' | sort -u
}

# Fallback: every non-test source of the layers, without the placeholder once real code exists.
glob_allocator_sources() {
  local all
  all=$(find $(ls -d arch percpu allocator 2>/dev/null) -type f \( -name '*.cc' -o -name '*.c' -o -name '*.S' \) \
          2>/dev/null | grep -vE '_(test|benchmark)\.cc$' | grep -viE 'x86' | sort)
  if grep -v '/placeholder' <<<"$all" | grep -q '^allocator/'; then
    grep -v '/placeholder' <<<"$all"
  else
    # Only the placeholder exists: its malloc overrides cannot be linked statically.
    grep -v 'placeholder_overrides' <<<"$all"
  fi
}

bazel_ok=1
bazel query --noshow_progress //tests/kernel_vm:guest_init >/dev/null 2>&1 || bazel_ok=0

sources_for() {  # <label> <fallback-list...>
  local label=$1; shift
  if ((bazel_ok)); then bazel_sources "$label"; else printf '%s\n' "$@"; fi
}

init_srcs=$(sources_for //tests/kernel_vm:guest_init tests/kernel_vm/*.cc)
init_srcs=$(grep -vE 'alloc_stress\.cc|_test\.cc' <<<"$init_srcs" | grep -v '^$' || true)
if ((bazel_ok)); then
  stress_srcs=$(bazel_sources //tests/kernel_vm:alloc_stress)
  fallback_stress_srcs=$(bazel_sources //tests/kernel_vm:alloc_stress_system_malloc)
else
  stress_srcs=$(printf '%s\n' tests/kernel_vm/alloc_stress.cc $(glob_allocator_sources))
  fallback_stress_srcs=$stress_srcs
fi

mapfile -t tests < <(grep -vE '^\s*(#|$)' "$here/guest_tests.txt" | awk '{print $1}')

# Everything that can change the binaries goes into the stamp.
stamp=$( { "$cxx" --version | head -1; cat "$here/guest_tests.txt";
           echo "$init_srcs" "$stress_srcs" "$fallback_stress_srcs";
           for t in "${tests[@]}"; do sources_for "$t"; done;
           find $(ls -d arch percpu allocator tests 2>/dev/null) -type f \( -name '*.h' -o -name '*.cc' \
                -o -name '*.c' -o -name '*.S' -o -name 'BUILD' \) | sort | xargs cat; } | sha256sum | cut -c1-16)
if [[ -f "$out/stamp" && "$(cat "$out/stamp")" == "$stamp" ]]; then
  echo "kernel_vm: aarch64 guest binaries up to date" >&2
  exit 0
fi
rm -rf "$out" && mkdir -p "$out/tests"

flags=(-O2 -g0 -fno-omit-frame-pointer -I"$root" -pthread)
compile() {  # <src> -> prints object path
  local src=$1 obj="$work/obj/$(echo "$1" | tr '/' '_').o"
  case "$src" in
    *.c) "$cc" -std=c11 "${flags[@]}" -c "$src" -o "$obj" ;;
    *) "$cxx" -std=c++17 "${flags[@]}" -isystem "$gtest_src/googletest/include" \
         -isystem "$gtest_src/googlemock/include" -c "$src" -o "$obj" ;;
  esac
  echo "$obj"
}
link() {  # <output> <objects...>
  local target=$1; shift
  "$cxx" -static -pthread -o "$target" "$@"
}
objects_of() { local s; for s in $1; do compile "$s"; done; }

echo "kernel_vm: cross-compiling aarch64 guest binaries" >&2
link "$out/init" $(objects_of "$init_srcs")

stress_note=""
if ! link "$out/alloc_stress" $(objects_of "$stress_srcs") 2>"$work/stress_link.log"; then
  if grep -q placeholder <<<"$stress_srcs"; then
    stress_note="placeholder allocator: linked with glibc's malloc"
    link "$out/alloc_stress" $(objects_of "$fallback_stress_srcs")
  else
    cat "$work/stress_link.log" >&2
    echo "kernel_vm: the allocator does not link statically as malloc for aarch64" >&2
    exit 1
  fi
fi
[[ -n "$stress_note" ]] && echo "kernel_vm: aarch64 alloc_stress: $stress_note" >&2

if ((${#tests[@]})) && ((!bazel_ok)); then
  # Dropping them would let the arm64 guests pass without running a single GoogleTest.
  echo "kernel_vm: bazel query unavailable: cannot list the sources of guest_tests.txt targets" >&2
  exit 1
fi
if ((${#tests[@]})); then
  [[ -f "$work/gtest-all.o" ]] || "$cxx" -std=c++17 -O2 -pthread \
      -I"$gtest_src/googletest/include" -I"$gtest_src/googletest" \
      -c "$gtest_src/googletest/src/gtest-all.cc" -o "$work/gtest-all.o"
  [[ -f "$work/gtest_main.o" ]] || "$cxx" -std=c++17 -O2 -I"$gtest_src/googletest/include" \
      -c "$gtest_src/googletest/src/gtest_main.cc" -o "$work/gtest_main.o"
  [[ -f "$work/gmock-all.o" ]] || "$cxx" -std=c++17 -O2 -pthread \
      -I"$gtest_src/googletest/include" -I"$gtest_src/googlemock/include" -I"$gtest_src/googlemock" \
      -c "$gtest_src/googlemock/src/gmock-all.cc" -o "$work/gmock-all.o"
  for t in "${tests[@]}"; do
    deps=$(bazel query --noshow_progress "deps($t)" 2>/dev/null || true)
    extra=("$work/gtest-all.o")
    grep -q '@system//:gmock' <<<"$deps" && extra+=("$work/gmock-all.o")
    grep -qE '@system//:(gtest_main|gmock_main)' <<<"$deps" && extra+=("$work/gtest_main.o")
    link "$out/tests/${t##*:}" $(objects_of "$(sources_for "$t")") "${extra[@]}"
  done
fi
echo "$stamp" > "$out/stamp"

#!/usr/bin/env bash
# The CMake build as a CMake-only user meets it (docs/cmake.md): configure, build (-j2, one
# configuration), install into a temporary prefix, then three consumer projects outside the tree
# (find_package, pkg-config + Makefile, Meson) each link rseqmalloc as their malloc, shared and
# static, and prove it at run time (tests/cmake/consumers/proof.c); the installed rseqmalloc-run
# runs a program under the installed library; the libraries export and contain what Bazel's do.
# Then the same for aarch64 with Debian's cross compiler, up to linked programs (run only under
# qemu-aarch64, when installed).
# Exit status: 0 passed, 1 failed, 77 skipped (no CMake on this machine).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
"$root/tools/bootstrap.sh" cmake ||
  echo "cmake_build: could not install the cmake package set; using what is installed"
if ! command -v cmake >/dev/null; then
  echo "SKIP: cmake is not installed (tools/bootstrap.sh cmake)"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

# Runs a command quietly, keeping its output in a log that is printed if it fails.
quiet() {  # name command...
  local log="$work/$1.log"; shift
  if "$@" >"$log" 2>&1; then return 0; fi
  echo "--- $log"; tail -n 40 "$log"; return 1
}

# build_and_install ARCH [cmake options...]: configures, builds and installs into $work/ARCH.
build_and_install() {
  local arch="$1"; shift
  quiet "configure-$arch" cmake -S "$root" -B "$work/build-$arch" "${generator[@]}" "$@" &&
    quiet "build-$arch" cmake --build "$work/build-$arch" --parallel 2 &&
    quiet "install-$arch" cmake --install "$work/build-$arch" --prefix "$work/prefix-$arch"
}

# A consumer project copied out of the tree with the shared proof program.
consumer() {  # project-name destination
  mkdir -p "$2"
  cp -r "$root/tests/cmake/consumers/$1/." "$root/tests/cmake/consumers/proof.c" "$2/"
}

# Runs a proof program and checks its verdict line.
prove() {  # description program [runner...]
  local description="$1" program="$2"; shift 2
  local out
  if out=$("$@" "$program" 2>&1) && grep -qx 'proof: rseqmalloc is malloc' <<<"$out"; then
    pass "$description: $(grep '^usable:' <<<"$out")"
  else
    fail "$description"; echo "$out"
  fi
}

start=$SECONDS
# ---- x86_64 (the host): build, install, what the prefix holds.
host=$(uname -m)
prefix="$work/prefix-$host"
if ! build_and_install "$host"; then
  fail "CMake build and install for $host"
  echo "cmake_build: FAIL"; exit 1
fi
pass "configured, built and installed for $host in $((SECONDS - start)) s"
libdir="$prefix/lib"
for f in "$libdir/librseqmalloc.so" "$libdir/librseqmalloc.a" "$prefix/include/rseqmalloc.h" \
         "$libdir/pkgconfig/rseqmalloc.pc" "$libdir/pkgconfig/rseqmalloc-static.pc" \
         "$libdir/cmake/rseqmalloc/rseqmalloc-config.cmake" "$prefix/bin/rseqmalloc-run"; do
  [[ -e "$f" ]] || fail "install did not lay out ${f#"$prefix"/}"
done

# ---- The shared object exports exactly the allocation API, the same symbols as Bazel's.
if out=$(bash tests/allocator/exported_symbols_test.sh "$libdir/librseqmalloc.so"); then
  pass "CMake librseqmalloc.so: $out"
else
  fail "CMake librseqmalloc.so exports: $out"
fi
global_exports() { readelf --dyn-syms -W "$1" | awk '$7 != "UND" && ($5 == "GLOBAL" || $5 == "WEAK") {print $8}' | sort -u; }
# Archive members by source file name (Bazel: x.pic.o, CMake: x.cc.o).
members() { ar t "$1" | sed -E 's/\.(pic|cc)\.o$//' | sort; }
if quiet bazel-libs tools/bazel.sh build //allocator:librseqmalloc.so //allocator:librseqmalloc.a; then
  if diff <(global_exports bazel-bin/allocator/librseqmalloc.so) \
          <(global_exports "$libdir/librseqmalloc.so") >"$work/exports.diff"; then
    pass "CMake and Bazel librseqmalloc.so export the same $(global_exports "$libdir/librseqmalloc.so" | wc -l) symbols"
  else
    fail "CMake and Bazel librseqmalloc.so export different symbols (< Bazel, > CMake):"
    cat "$work/exports.diff"
  fi
  if diff <(members bazel-bin/allocator/librseqmalloc.a) <(members "$libdir/librseqmalloc.a") \
       >"$work/members.diff"; then
    pass "CMake and Bazel librseqmalloc.a have the same $(members "$libdir/librseqmalloc.a" | wc -l) members"
  else
    fail "CMake and Bazel librseqmalloc.a have different members (< Bazel, > CMake):"
    cat "$work/members.diff"
  fi
else
  fail "bazel build //allocator:librseqmalloc.so //allocator:librseqmalloc.a"
fi

# ---- Consumer 1: find_package(rseqmalloc), shared and static.
consumer find_package "$work/find_package"
if quiet find-package cmake -S "$work/find_package" -B "$work/find_package/build" "${generator[@]}" \
       -DCMAKE_PREFIX_PATH="$prefix" &&
   quiet find-package-build cmake --build "$work/find_package/build" --parallel 2; then
  prove "find_package rseqmalloc::rseqmalloc" "$work/find_package/build/proof_shared"
  prove "find_package rseqmalloc::rseqmalloc_static" "$work/find_package/build/proof_static"
else
  fail "find_package consumer does not build"
fi

# ---- Consumer 2: pkg-config and a Makefile.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
consumer pkg_config "$work/pkg_config"
if quiet pkg-config-make make -C "$work/pkg_config"; then
  prove "pkg-config rseqmalloc (Makefile)" "$work/pkg_config/proof_shared"
  prove "pkg-config rseqmalloc-static (Makefile)" "$work/pkg_config/proof_static"
else
  fail "pkg-config + Makefile consumer does not build"
fi

# ---- Consumer 3: Meson, through pkg-config.
if command -v meson >/dev/null; then
  consumer meson "$work/meson"
  if quiet meson-setup meson setup "$work/meson/build" "$work/meson" &&
     quiet meson-build meson compile -C "$work/meson/build"; then
    prove "meson dependency('rseqmalloc')" "$work/meson/build/proof_shared"
    prove "meson dependency('rseqmalloc-static')" "$work/meson/build/proof_static"
  else
    fail "Meson consumer does not build"
  fi
else
  echo "SKIP: meson is not installed (tools/bootstrap.sh cmake); Meson consumer not built"
fi
unset PKG_CONFIG_PATH

# ---- The installed launcher preloads the installed library into a program not linked with it.
launcher_out=$("$prefix/bin/rseqmalloc-run" --verbose sh -c 'echo "preload=$LD_PRELOAD"' 2>&1)
if grep -qx "preload=$(realpath "$libdir/librseqmalloc.so")" <<<"$launcher_out" &&
   grep -q '^rseqmalloc: rseq: owner=' <<<"$launcher_out"; then
  pass "installed rseqmalloc-run preloads the installed library"
else
  fail "installed rseqmalloc-run: $launcher_out"
fi

# ---- aarch64: cross-compiled with Debian's toolchain, installed, consumers linked.
if ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  echo "SKIP: aarch64-linux-gnu-g++ is not installed (tools/bootstrap.sh cmake); no aarch64 build"
elif ! build_and_install aarch64 --toolchain "$root/cmake/aarch64-linux-gnu.cmake"; then
  fail "CMake cross build and install for aarch64"
else
  a64="$work/prefix-aarch64"
  # Whole outputs first: grep -q in a pipe may close it early, a SIGPIPE failure under pipefail.
  kind=$(file -L "$a64/lib/librseqmalloc.so")
  sections=$(aarch64-linux-gnu-objdump -h "$a64/lib/librseqmalloc.so")
  if grep -q 'ARM aarch64' <<<"$kind" && grep -q ' __rseq_cs ' <<<"$sections"; then
    pass "aarch64 librseqmalloc.so is an aarch64 object with rseq critical sections"
  else
    fail "aarch64 librseqmalloc.so is not an aarch64 object with rseq critical sections: $kind"
  fi
  if out=$(bash tests/allocator/exported_symbols_test.sh "$a64/lib/librseqmalloc.so"); then
    pass "aarch64 librseqmalloc.so: $out"
  else
    fail "aarch64 librseqmalloc.so exports: $out"
  fi
  consumer find_package "$work/find_package_aarch64"
  if quiet find-package-aarch64 cmake -S "$work/find_package_aarch64" \
         -B "$work/find_package_aarch64/build" "${generator[@]}" \
         --toolchain "$root/cmake/aarch64-linux-gnu.cmake" \
         -Drseqmalloc_DIR="$a64/lib/cmake/rseqmalloc" &&
     quiet find-package-aarch64-build cmake --build "$work/find_package_aarch64/build" --parallel 2; then
    pass "aarch64 find_package consumer links (shared and static)"
    if command -v qemu-aarch64 >/dev/null; then
      # qemu-user has no rseq, so this runs the per-thread fallback front end.
      for kind in shared static; do
        prove "aarch64 $kind under qemu-aarch64" "$work/find_package_aarch64/build/proof_$kind" \
          env QEMU_LD_PREFIX=/usr/aarch64-linux-gnu LD_LIBRARY_PATH="$a64/lib" qemu-aarch64
      done
    else
      echo "SKIP: qemu-aarch64 is not installed (apt: qemu-user); aarch64 programs not run"
    fi
  else
    fail "aarch64 find_package consumer does not link"
  fi
fi

echo "cmake_build: $((SECONDS - start)) s"
if ((failures)); then echo "cmake_build: FAIL ($failures)"; exit 1; fi
echo "cmake_build: PASS"

#!/usr/bin/env bash
# Installs, once, what building, testing and benchmarking rseqmalloc needs on Debian 12 (bookworm),
# from Debian's own packages only. Idempotent and quiet: a second run installs nothing and prints
# nothing unless asked (BOOTSTRAP_VERBOSE=1).
#
#   tools/bootstrap.sh            packages for building and testing
#   tools/bootstrap.sh bench      also the allocators the benchmarks compare against, and stress-ng
#   tools/bootstrap.sh vm         also qemu and the cross compiler for the Linux 7.3 guests
#   tools/bootstrap.sh reliability  also the real programs the LD_PRELOAD suite runs
#   tools/bootstrap.sh cmake      also CMake, Meson, pkg-config and the aarch64 cross compiler
set -euo pipefail

# google-perftools (google-pprof) and graphviz read and draw the heap profiles that
# tests/profile checks; sqlite3 is the real program its guarded-sampling test runs.
packages=(bazel-bootstrap bazel-rules-java g++ libabsl-dev libgtest-dev libgmock-dev
          libbenchmark-dev python3 git ca-certificates google-perftools graphviz sqlite3)
for extra in "$@"; do
  case "$extra" in
    bench) packages+=(libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 stress-ng) ;;
    vm) packages+=(qemu-system-x86 qemu-system-arm gcc-aarch64-linux-gnu g++-aarch64-linux-gnu googletest
                   libc6-dev-arm64-cross build-essential flex bison bc libelf-dev libssl-dev cpio
                   kmod xz-utils zstd) ;;
    # procps (pgrep) is on every standard install but not in a minimal debootstrap or container.
    reliability) packages+=(sqlite3 redis-server redis-tools memcached stress-ng time
                            python3.11 libpython3.11-testsuite procps) ;;
    # The CMake build, its consumer projects (tests/suites/cmake_build.sh) and its aarch64 cross build.
    cmake) packages+=(cmake ninja-build meson pkg-config g++-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
    *) echo "bootstrap: unknown package set '$extra' (known: bench, vm, reliability, cmake)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  [[ "${BOOTSTRAP_VERBOSE:-0}" == 1 ]] && echo "bootstrap: nothing to install"
  exit 0
fi

sudo=()
[[ "$(id -u)" -eq 0 ]] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
echo "bootstrap: installing ${missing[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { "${sudo[@]}" apt-get update -qq &&
       "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "bootstrap: apt-get failed (see above)" >&2
  exit 1
fi

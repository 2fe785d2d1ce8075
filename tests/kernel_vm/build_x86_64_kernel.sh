#!/usr/bin/env bash
# Builds the small x86_64 guest kernel from Debian's linux-source-7.3 package: tinyconfig plus
# x86_64_kernel.config. The bzImage is cached under <cache>/x86_64-<source version>-<fragment hash>/
# so that a repeat run costs nothing; the source tree is thrown away after the build.
#
#   build_x86_64_kernel.sh <cache-dir> <linux-source .deb>   (prints the bzImage path)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache=$1; deb=$2
fragment="$here/x86_64_kernel.config"
version=$(dpkg-deb -f "$deb" Version)
hash=$(sha256sum "$fragment" | cut -c1-12)
out="$cache/x86_64-${version}-${hash}"
if [[ -s "$out/bzImage" ]]; then echo "$out/bzImage"; exit 0; fi

work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "kernel_vm: building x86_64 kernel $version (fragment $hash); takes ~4-5 min" >&2
dpkg-deb -x "$deb" "$work/deb"
tarball=$(ls "$work"/deb/usr/src/linux-source-*.tar.xz)
tar -xJf "$tarball" -C "$work"
rm -rf "$work/deb"
src=$(ls -d "$work"/linux-source-*)
mk=(nice -n 10 make -C "$src" ARCH=x86_64 -s)
"${mk[@]}" tinyconfig >&2
(cd "$src" && scripts/kconfig/merge_config.sh -m .config "$fragment" >/dev/null)
"${mk[@]}" olddefconfig >&2
# Options that silently vanish when a dependency is missing are checked explicitly.
for opt in CONFIG_RSEQ CONFIG_RSEQ_SLICE_EXTENSION CONFIG_RSEQ_STATS CONFIG_SCHED_MM_CID \
           CONFIG_CGROUPS CONFIG_DEBUG_FS CONFIG_SERIAL_8250_CONSOLE CONFIG_ACPI CONFIG_SMP; do
  grep -qx "$opt=y" "$src/.config" || { echo "kernel_vm: $opt is not set after olddefconfig" >&2; exit 1; }
done
"${mk[@]}" -j2 bzImage >&2
mkdir -p "$out.tmp"
cp "$src/arch/x86/boot/bzImage" "$src/.config" "$out.tmp/"
rm -rf "$out"; mv "$out.tmp" "$out"
echo "$out/bzImage"

#!/usr/bin/env bash
# Private apt: downloads Debian packages from suites the machine is not configured for
# (trixie-backports for the 7.3 kernels, trixie for glibc 2.41, bookworm), without touching the system's sources, lists or package state.
# Every path apt would write to is redirected under the cache directory with -o options, and
# packages are only ever fetched with `apt-get download` (never installed).
#
#   private_apt.sh <cache-dir> update
#   private_apt.sh <cache-dir> search <regex>
#   private_apt.sh <cache-dir> download <pkg[:arch][/suite]> <out-dir>   (prints the .deb path)
set -euo pipefail
cache=$1; cmd=$2; shift 2
dir="$cache/apt"
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/etc/none.d"

# The URI of the Debian mirror the machine already uses (deb822 .sources first, then the one-line
# format). Falling back to deb.debian.org keeps the script usable on a machine without either.
mirror_uri() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -e "$f" ]] || continue
    uri=$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) {print $i; exit}}' "$f")
    [[ -n "$uri" ]] && { echo "${uri%/}"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -e "$f" ]] || continue
    uri=$(awk '$1 == "deb" {for (i = 2; i <= NF; i++) if ($i ~ /^https?:.*\/debian\/?$/) {print $i; exit}}' "$f")
    [[ -n "$uri" ]] && { echo "${uri%/}"; return; }
  done
  echo "http://deb.debian.org/debian"
}

uri=$(mirror_uri)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$dir/etc/sources.list.new" <<SOURCES
deb [arch=amd64,arm64 signed-by=$keyring] $uri trixie-backports main
deb [arch=amd64 signed-by=$keyring] $uri trixie main
deb [arch=amd64,arm64 signed-by=$keyring] $uri bookworm main
SOURCES
mv "$dir/etc/sources.list.new" "$dir/etc/sources.list"
touch "$dir/etc/status"

apt_opts=(
  -o "Dir::Etc::SourceList=$dir/etc/sources.list"
  -o "Dir::Etc::SourceParts=$dir/etc/none.d"
  -o "Dir::Etc::Preferences=$dir/etc/none"
  -o "Dir::Etc::PreferencesParts=$dir/etc/none.d"
  -o "Dir::State::Lists=$dir/lists"
  -o "Dir::State::status=$dir/etc/status"
  -o "Dir::Cache=$dir/cache"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures::=amd64" -o "APT::Architectures::=arm64"
  -o "APT::Sandbox::User=root"
  -o "Acquire::Languages=none"
  -o "APT::Get::List-Cleanup=0"
)

case "$cmd" in
  update)
    # Lists older than a day are refreshed; otherwise the cached ones are used (fast repeat runs).
    # (A sources list that names a suite without lists yet, e.g. after an upgrade of this script,
    # also forces an update.)
    if [[ -z "$(find "$dir/lists" -maxdepth 1 -name '*_Packages*' -mmin -1440 2>/dev/null | head -1)" ||
          -z "$(find "$dir/lists" -maxdepth 1 -name '*_dists_trixie_main_binary-amd64_Packages*' 2>/dev/null | head -1)" ]]; then
      apt-get "${apt_opts[@]}" -qq update >&2
    fi ;;
  search)
    apt-cache "${apt_opts[@]}" search --names-only "$1" ;;
  policy)
    apt-cache "${apt_opts[@]}" policy "$@" ;;
  show)
    apt-cache "${apt_opts[@]}" show "$@" ;;
  version)
    apt-cache "${apt_opts[@]}" show "$1" 2>/dev/null | awk '/^Version:/ {print $2; exit}' ;;
  download)
    pkg=$1; out=$2
    mkdir -p "$out"
    ( cd "$out" && apt-get "${apt_opts[@]}" -qq download "$pkg" >&2 )
    name=${pkg%%/*}; name=${name%%:*}
    ls -t "$out"/"${name}"_*.deb | head -1 ;;
  *) echo "private_apt: unknown command $cmd" >&2; exit 2 ;;
esac

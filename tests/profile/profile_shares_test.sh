#!/usr/bin/env bash
# Known bytes from known call sites (three_sites.cc) must come back from google-pprof --text with
# the right sizes: live, peak and growth profiles, each site within 5 % of what it allocated
# (about 3.5 standard deviations of the sampling error at a 4 KiB mean interval).
set -euo pipefail
program="$(realpath "$1")"
command -v google-pprof >/dev/null || { echo "SKIP: google-pprof missing (tools/bootstrap.sh)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

RSEQMALLOC_PROFILE=1 RSEQMALLOC_PROFILE_SAMPLE_BYTES=4K "$program" "$work/p" > "$work/out"
cat "$work/out"

for kind in live peak growth; do
  google-pprof --text "$program" "$work/p.$kind.heap" > "$work/$kind.txt" 2>/dev/null
done
cat "$work/peak.txt"

# The cumulative MiB google-pprof gives a function in a profile (0 when absent). Functions in
# an anonymous namespace print as "::Name".
mib() {
  awk -v f="$2" '$NF == f || $NF == "::" f { print $4; found = 1 } END { if (!found) print 0 }' \
    "$work/$1.txt"
}

failures=0
# expect <profile> <function> <MiB>: within 5 %, or below 0.5 MiB when 0 is expected.
expect() {
  local got
  got=$(mib "$1" "$2")
  if awk -v g="$got" -v e="$3" 'BEGIN { exit !(e == 0 ? g < 0.5 : (g > e * 0.95 && g < e * 1.05)) }'; then
    echo "ok   $1 $2: $got MiB (allocated $3)"
  else
    echo "FAIL $1 $2: $got MiB, allocated $3"
    failures=$((failures + 1))
  fi
}

expect live AllocateSmallA 100
expect live AllocateMediumB 60
expect live AllocateLargeC 0
expect peak AllocateSmallA 100
expect peak AllocateMediumB 60
expect peak AllocateLargeC 40
expect growth AllocateGrowthD 20
expect growth AllocateSmallA 0

# The allocation itself is attributed to the site, not to the allocator: rseqmalloc's own
# functions appear nowhere in the profile.
if grep -q rseqmalloc "$work/live.txt"; then
  echo "FAIL: allocator frames in the profile"
  failures=$((failures + 1))
fi
# And --svg draws it (graphviz's dot).
if command -v dot >/dev/null; then
  google-pprof --svg "$program" "$work/p.peak.heap" > "$work/peak.svg" 2>/dev/null
  grep -q '<svg' "$work/peak.svg" && grep -q AllocateSmallA "$work/peak.svg" ||
    { echo "FAIL: --svg"; failures=$((failures + 1)); }
  [[ -n "${PROFILE_SVG_OUT:-}" ]] && cp "$work/peak.svg" "$PROFILE_SVG_OUT"
fi
exit $((failures > 0))

#!/usr/bin/env bash
# A heap profile of an unmodified program: Debian's python3 under LD_PRELOAD, sent
# RSEQMALLOC_PROFILE_SIGNAL from outside while it runs, writes live/peak/growth profiles that
# google-pprof reads, with python3's own functions named; and RSEQMALLOC_PROFILE_AT_EXIT writes
# them at exit.
set -euo pipefail
lib="$(realpath "$1")"
python=/usr/bin/python3
[[ -x "$python" ]] || { echo "SKIP: $python missing"; exit 77; }
command -v google-pprof >/dev/null || { echo "SKIP: google-pprof missing (tools/bootstrap.sh)"; exit 77; }
work=$(mktemp -d)
pid=
trap '[[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

# The "service": holds about 190 MiB in 10 kB buffers, then keeps allocating a little until told
# to stop (bounded: it gives up after 60 s on its own).
cat > "$work/service.py" <<'PY'
import os, sys, time
keep = [bytearray(10000) for _ in range(20000)]
open(sys.argv[1], "w").close()
deadline = time.time() + 60
while not os.path.exists(sys.argv[2]) and time.time() < deadline:
    scratch = [bytearray(100) for _ in range(100)]
    time.sleep(0.01)
PY
# A 64 KiB mean interval (about 3000 samples here) keeps the estimate's error near 2 %.
RSEQMALLOC_PROFILE_SIGNAL=USR2 RSEQMALLOC_PROFILE_SAMPLE_BYTES=64K RSEQMALLOC_PROFILE_PREFIX="$work/svc" \
  LD_PRELOAD="$lib" \
  "$python" "$work/service.py" "$work/ready" "$work/stop" &
pid=$!
for _ in $(seq 600); do [[ -e "$work/ready" ]] && break; sleep 0.1; done
[[ -e "$work/ready" ]] || { echo "FAIL: the service did not start"; exit 1; }
kill -USR2 "$pid"
profile="$work/svc.$pid.1.live.heap"
for _ in $(seq 300); do [[ -s "$work/svc.$pid.1.growth.heap" ]] && break; sleep 0.1; done
touch "$work/stop"
wait "$pid"
pid_seen=$pid
pid=
for kind in live peak growth; do
  f="$work/svc.$pid_seen.1.$kind.heap"
  head -1 "$f" | grep -q '^heap profile: [0-9]*: [0-9]* \[ *[0-9]*: [0-9]*\] @ heapprofile$' ||
    { echo "FAIL: $f is not a heap profile"; head -3 "$f"; exit 1; }
  grep -q '^MAPPED_LIBRARIES:$' "$f" || { echo "FAIL: $f has no address map"; exit 1; }
done

google-pprof --text "$python" "$profile" > "$work/live.txt" 2>"$work/pprof.err" ||
  { cat "$work/pprof.err"; exit 1; }
head -8 "$work/live.txt"
total=$(awk '/^Total:/ { print $2 }' "$work/live.txt")
# 20000 buffers of 10000 bytes: 191 MiB requested, somewhat more as size classes round up.
awk -v t="$total" 'BEGIN { exit !(t > 170 && t < 260) }' ||
  { echo "FAIL: live total $total MiB, expected about 191-230"; exit 1; }
# The frames are python3's own functions (it has no frame pointers, so stacks are short, but the
# function that called malloc is always there).
grep -Eq ' (_?Py[A-Za-z_]+|[a-z_]+_alloc[a-z_]*)$' "$work/live.txt" ||
  { echo "FAIL: no python3 function named"; exit 1; }

# At exit.
RSEQMALLOC_PROFILE_AT_EXIT=1 RSEQMALLOC_PROFILE_PREFIX="$work/exit" LD_PRELOAD="$lib" \
  "$python" -c 'keep = [bytearray(5000) for _ in range(10000)]'
ls "$work"/exit.*.exit.live.heap "$work"/exit.*.exit.peak.heap "$work"/exit.*.exit.growth.heap >/dev/null ||
  { echo "FAIL: no profiles at exit"; ls "$work"; exit 1; }
google-pprof --text "$python" "$work"/exit.*.exit.peak.heap 2>/dev/null | grep -q '^Total: ' ||
  { echo "FAIL: the exit profile does not parse"; exit 1; }
echo "ok"

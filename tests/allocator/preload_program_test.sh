#!/usr/bin/env bash
# rseqmalloc in a real program it was not built into: Debian's python3, started through
# tools/rseqmalloc-run. Checks the launcher's options, the start-up status line, the statistics
# at exit, glibc's introspection calls answered by rseqmalloc, and that an idle multi-threaded
# program gives freed memory back by itself.
set -euo pipefail
lib="$(realpath "$1")" launcher="$2" main_thread_exits="$3" new_under_preload="$4"
python=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The launcher: --own-rseq turns glibc's registration off, --verbose prints the status line.
"$launcher" --lib "$lib" --own-rseq --verbose "$python" -c 'pass' 2>"$work/err"
grep -q '^rseqmalloc: rseq: owner=own ' "$work/err" || { cat "$work/err"; exit 1; }
"$launcher" --lib "$lib" --verbose "$python" -c 'pass' 2>"$work/err"
grep -q '^rseqmalloc: rseq: owner=glibc ' "$work/err" || { cat "$work/err"; exit 1; }
if "$launcher" --no-such-option true 2>/dev/null; then echo "bad option accepted"; exit 1; fi

cat > "$work/program.py" <<'PROGRAM'
import ctypes, threading, time

libc = ctypes.CDLL(None)

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
                 "uordblks", "fordblks", "keepcost")]

libc.mallinfo2.restype = MallInfo2

def resident_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

threading.Thread(target=time.sleep, args=(6,), daemon=True).start()
blocks = [bytearray(1000) for _ in range(200000)]
in_use = libc.mallinfo2().uordblks
full = resident_mib()
del blocks
deadline = time.time() + 5
while time.time() < deadline and resident_mib() > full - 100:
    time.sleep(0.1)
idle = resident_mib()
print("mallinfo2_in_use_mib %.0f" % (in_use / 2**20))
print("rss_full_mib %.0f rss_idle_mib %.0f" % (full, idle))
print("malloc_trim_after_idle", libc.malloc_trim(0))
PROGRAM
# A single-threaded program gets no thread from the allocator; one that starts a thread gets the
# release thread (started from the pthread_create wrapper) and no other.
count='import os, threading, time
if len(os.sys.argv) > 1: threading.Thread(target=time.sleep, args=(1,)).start(); time.sleep(0.2)
print(len(os.listdir("/proc/self/task")))'
[[ "$("$launcher" --lib "$lib" "$python" -c "$count")" == 1 ]] || { echo "thread added"; exit 1; }
[[ "$("$launcher" --lib "$lib" "$python" -c "$count" threaded)" == 3 ]] || {
  echo "expected main + program thread + release thread"; exit 1; }

# A program whose main thread calls pthread_exit() ends when its own last thread does: the
# release thread notices it is alone and leaves too (it once kept such processes alive forever).
out=$(RSEQMALLOC_RELEASE_PERIOD_MS=100 timeout 20 "$launcher" --lib "$lib" "$main_thread_exits") ||
  { echo "process with pthread_exit()ed main thread did not end: $?"; exit 1; }
grep -q "worker done" <<<"$out" || { echo "worker output lost: $out"; exit 1; }

# The library loads no C++ runtime of its own, yet a C++ program's new throws through it.
LD_PRELOAD="$lib" "$new_under_preload" || { echo "C++ new under LD_PRELOAD misbehaves"; exit 1; }

# The program idles in sleep() without allocating: the release thread gives the memory back.
RSEQMALLOC_STATS_AT_EXIT=1 RSEQMALLOC_RELEASE_PERIOD_MS=100 \
  "$launcher" --lib "$lib" "$python" "$work/program.py" >"$work/out" 2>"$work/err"
cat "$work/out"
in_use=$(awk '/^mallinfo2_in_use_mib/ {print $2}' "$work/out")
read -r full idle < <(awk '/^rss_full_mib/ {print $2, $4}' "$work/out")
(( in_use >= 190 )) || { echo "mallinfo2 does not see python's 200 MB: $in_use MiB"; exit 1; }
(( idle + 100 <= full )) || { echo "idle RSS did not drop: $full -> $idle MiB"; exit 1; }
grep -q '^rseqmalloc: application_bytes [0-9]' "$work/err" || { echo "no stats at exit"; exit 1; }
grep -q '^rseqmalloc: release.released_bytes [1-9]' "$work/err" || { echo "nothing released"; exit 1; }
echo "ok"

#!/usr/bin/env bash
# Real programs under LD_PRELOAD=librseqmalloc.so, each compared with the same run under the
# system malloc: same output (normalised where a program prints timings), same exit status, no
# crash. Programs: Python (part of its own test suite), SQLite, Redis + redis-benchmark,
# memcached + a Python client, git, g++ and stress-ng's memory stressors. Every program runs once
# under glibc and once per rseq mode of rseqmalloc:
#   glibc_rseq  the default (glibc owns the rseq registration)
#   own_rseq    GLIBC_TUNABLES=glibc.pthread.rseq=0 (rseqmalloc registers its own area)
#   no_rseq     RSEQMALLOC_RSEQ=off (the fallback front end)
# Prints a table of wall time and peak RSS beside glibc's and ends with "N passed, N failed".
# Servers listen on 127.0.0.1 only; every load is bounded in requests and time.
#
#   tests/suites/real_programs.sh
#   RELIABILITY_PROGRAMS="sqlite git" RELIABILITY_MODES=own_rseq tests/suites/real_programs.sh
#   RELIABILITY_KEEP=1 …    keeps the outputs and logs of every run (the path is printed)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
programs_dir="$root/tests/reliability/programs"

"$root/tools/bootstrap.sh" reliability || { echo "real_programs: bootstrap failed" >&2; exit 1; }
bazel build //allocator:librseqmalloc.so >/dev/null 2>&1 ||
  { bazel build //allocator:librseqmalloc.so; echo "real_programs: build failed" >&2; exit 1; }
lib="$(bazel info bazel-bin 2>/dev/null)/allocator/librseqmalloc.so"
[[ -f "$lib" ]] || { echo "real_programs: $lib missing" >&2; exit 1; }

programs=(${RELIABILITY_PROGRAMS:-python sqlite redis memcached git gxx stress_ng})
modes=(${RELIABILITY_MODES:-glibc_rseq own_rseq no_rseq})
python=/usr/bin/python3.11  # Debian's, the one libpython3.11-testsuite belongs to
for tool in "$python" /usr/bin/time sqlite3 redis-server redis-cli redis-benchmark memcached git \
            g++ stress-ng timeout pgrep; do
  command -v "$tool" >/dev/null || { echo "real_programs: FAIL: $tool is not installed" >&2; exit 1; }
done
[[ -d /usr/lib/python3.11/test/test_json ]] ||
  { echo "real_programs: FAIL: libpython3.11-testsuite is not installed" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
# Kills a process and everything below it, by pid (the server runs under time and timeout).
kill_tree() {
  local pid="$1" child
  for child in $(pgrep -P "$pid"); do kill_tree "$child"; done
  kill -9 "$pid" 2>/dev/null
}
cleanup() {
  [[ -n "$server_pid" ]] && kill_tree "$server_pid"
  if [[ "${RELIABILITY_KEEP:-0}" == 1 ]]; then echo "real_programs: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The environment of one run: "glibc" is the system malloc, the rest are rseqmalloc's modes.
run_env() {
  case "$1" in
    glibc) echo "env -u LD_PRELOAD" ;;
    glibc_rseq) echo "env LD_PRELOAD=$lib" ;;
    own_rseq) echo "env LD_PRELOAD=$lib GLIBC_TUNABLES=glibc.pthread.rseq=0" ;;
    no_rseq) echo "env LD_PRELOAD=$lib RSEQMALLOC_RSEQ=off" ;;
  esac
}

# timed LABEL CMD...: runs CMD under GNU time (itself not preloaded); LABEL.time gets
# "seconds max_rss_kib", LABEL.status the exit status.
timed() {
  local label="$1"
  shift
  /usr/bin/time -f '%e %M' -o "$work/$label.time" "$@"
  local status=$?
  echo "$status" >"$work/$label.status"
  return "$status"
}

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for_port() {  # PORT: true once something accepts connections there (10 s at most)
  local port="$1"
  for _ in $(seq 1 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Each program_X LABEL writes what must match glibc's run to $work/LABEL.out and returns the
# program's exit status; its stderr goes to $work/LABEL.err.

program_python() {
  local label="$1" dir="$work/$1.py"
  mkdir -p "$dir"
  # Chosen to run in well under a minute on two cores: containers, text, json, threads, re.
  # --timeout: a test that hangs (a deadlock in the allocator, say) makes its worker print every
  # thread's Python stack and exit, and regrtest reports it. The outer timeout alone kills only
  # regrtest's main process: its workers run in their own sessions and would stay behind, hung.
  (cd "$dir" && timed "$label" timeout -k 5 240 $(run_env "${label#*.}") "$python" -m test -j2 \
      --timeout 120 test_dict test_list test_set test_json test_threading test_sort test_re \
      test_unicode test_collections test_itertools test_heapq test_array test_string test_bytes \
      >"$work/$label.raw" 2>"$work/$label.err")
  local status=$?
  # regrtest reports failures and hangs on stdout: keep the end for the failure report.
  ((status == 0)) || tail -40 "$work/$label.raw" >>"$work/$label.err"
  # Timings and load averages differ from run to run: keep the verdict lines only.
  grep -E '^(All [0-9]+ tests OK\.|Tests result: .*|[0-9]+ tests? (failed|skipped|OK).*)$' \
    "$work/$label.raw" >"$work/$label.out"
  return "$status"
}

program_sqlite() {
  local label="$1"
  rm -f "$work/$label.db"*
  timed "$label" timeout -k 5 120 $(run_env "${label#*.}") sqlite3 "$work/$label.db" \
    <"$programs_dir/sqlite_workload.sql" >"$work/$label.out" 2>"$work/$label.err"
}

program_redis() {
  local label="$1" port status
  port="$(free_port)"
  mkdir -p "$work/$label.redis"
  timed "$label" timeout -k 5 180 $(run_env "${label#*.}") redis-server --port "$port" \
    --bind 127.0.0.1 --protected-mode yes --save '' --appendonly no --dir "$work/$label.redis" \
    >"$work/$label.server" 2>&1 &
  server_pid=$!
  local cli=(timeout 60 redis-cli -h 127.0.0.1 -p "$port")
  {
    wait_for_port "$port" || echo "redis-server did not start"
    # Several clients, a bounded number of requests each kind, random keys over a keyspace.
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -c 16 -n 10000 -r 50000 -q \
      -t set,get,incr,lpush,rpop,sadd,hset,lrange_100,mset >/dev/null ||
      echo "redis-benchmark failed"
    local processed
    processed="$("${cli[@]}" info stats | tr -d '\r' | sed -n 's/^total_commands_processed://p')"
    ((${processed:-0} >= 90000)) && echo "benchmark: at least 90000 commands" ||
      echo "benchmark: only ${processed:-0} commands"
    "${cli[@]}" flushall
    "${cli[@]}" --eval "$programs_dir/redis_load.lua"
    "${cli[@]}" --eval "$programs_dir/redis_digest.lua"
    "${cli[@]}" shutdown nosave >/dev/null 2>&1
  } >"$work/$label.out" 2>"$work/$label.err"
  wait "$server_pid"
  status=$?
  server_pid=""
  return "$status"
}

program_memcached() {
  local label="$1" port status
  port="$(free_port)"
  # -A enables the "shutdown" command, so that the server stops by itself with its exit status.
  timed "$label" timeout -k 5 120 $(run_env "${label#*.}") memcached -u root -l 127.0.0.1 \
    -p "$port" -U 0 -m 256 -t 2 -A >"$work/$label.server" 2>&1 &
  server_pid=$!
  {
    wait_for_port "$port" || echo "memcached did not start"
    timeout 90 "$python" "$programs_dir/memcached_client.py" "$port" || echo "client failed: $?"
    (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'shutdown\r\n' >&3) 2>/dev/null ||
      echo "could not send shutdown"
  } >"$work/$label.out" 2>"$work/$label.err"
  wait "$server_pid"
  status=$?
  server_pid=""
  return "$status"
}

program_git() (  # a subshell: the git environment stays here
  label="$1" repo="$work/$1.git"
  export GIT_CONFIG_NOSYSTEM=1 HOME="$work/home" GIT_AUTHOR_NAME=Reliability \
    GIT_AUTHOR_EMAIL=rel@example.invalid GIT_COMMITTER_NAME=Reliability \
    GIT_COMMITTER_EMAIL=rel@example.invalid GIT_AUTHOR_DATE='2021-01-01T00:00:00Z' \
    GIT_COMMITTER_DATE='2021-01-01T00:00:00Z'
  mkdir -p "$HOME"
  "$python" "$programs_dir/git_history.py" 800 >"$work/history.stream"
  # One script so that GNU time measures the whole session; git's own children (pack-objects,
  # index-pack …) inherit LD_PRELOAD.
  timed "$label" timeout -k 5 240 $(run_env "${label#*.}") bash -euo pipefail -c '
    repo="$1"
    git init -q -b main "$repo"
    cd "$repo"
    git config pack.threads 1   # deltas do not depend on thread timing
    git fast-import --quiet <"$2"
    git reset -q --hard main
    git log --stat --format="%H %s" | sha1sum
    git log --format="%H" | wc -l
    git diff --stat HEAD~600 HEAD | tail -3
    git diff HEAD~500 HEAD~100 | sha1sum
    git blame dir3/file37.txt | sha1sum
    for i in $(seq 1 20); do echo "change $i" >>dir1/file1.txt; git commit -qam "local $i"; done
    git gc -q
    git fsck --full --strict --no-progress
    git rev-list --all --objects | sort | sha1sum
    git log -1 --format="%H %s"
    git repack -adq -f --depth=20 --window=20
    git fsck --full --no-progress
    git count-objects -v | grep -E "^(count|packs):"
  ' _ "$repo" "$work/history.stream" >"$work/$label.out" 2>"$work/$label.err"
)

program_gxx() {
  local label="$1" dir="$work/gxx"
  mkdir -p "$dir"
  cp "$programs_dir/compile_me.cc" "$dir/compile_me.cc"
  # Same source path and working directory every run, so that the object files can be compared.
  (cd "$dir" && timed "$label" timeout -k 5 240 $(run_env "${label#*.}") \
      g++ -std=c++17 -O2 -frandom-seed=rseqmalloc -c compile_me.cc -o "$work/$label.o" \
      2>"$work/$label.err") || return $?
  g++ "$work/$label.o" -o "$work/$label.bin" && "$work/$label.bin" >"$work/$label.out" || return $?
  sha1sum <"$work/$label.o" >>"$work/$label.out"
}

program_stress_ng() {
  local label="$1"
  # Time-bounded stressors that allocate hard: malloc/realloc/free, process_vm_rw copies,
  # trees and hash/tree searches. Only the verdict is compared (its metrics vary).
  timed "$label" timeout -k 5 60 $(run_env "${label#*.}") stress-ng --malloc 2 --malloc-bytes 32M \
    --vm-rw 1 --tree 1 --tsearch 1 --hsearch 1 --timeout 4s --metrics-brief \
    >"$work/$label.raw" 2>&1
  local status=$?
  cp "$work/$label.raw" "$work/$label.err"
  grep -q 'successful run completed' "$work/$label.raw" && echo "successful run completed" \
    >"$work/$label.out" || echo "no 'successful run completed'" >"$work/$label.out"
  return "$status"
}

# One line per mode: what rseqmalloc says about itself in that environment (also proves that
# the preload took: the symbol is only there when the library is loaded).
echo "real_programs: LD_PRELOAD=$lib"
for mode in "${modes[@]}"; do
  status_line="$($(run_env "$mode") "$python" -c '
import ctypes
lib = ctypes.CDLL(None)
buf = ctypes.create_string_buffer(512)
lib.rseqmalloc_rseq_status(buf, ctypes.c_size_t(512))
size = ctypes.c_uint.in_dll(lib, "__rseq_size").value
print("%s; glibc __rseq_size %d" % (buf.value.decode(), size))' 2>&1)"
  echo "  $mode: $status_line"
  if [[ "$status_line" != rseq* ]]; then
    echo "real_programs: FAIL: librseqmalloc.so is not active under LD_PRELOAD in $mode" >&2
    exit 1
  fi
done

# Debian's redis-server is linked with jemalloc and calls malloc_usable_size: every such entry
# point must come from the preloaded library. The real allocator defines it (DESIGN.md §6); only
# the temporary placeholder may lack it, and then redis is reported as skipped.
redis_can_run() {
  nm -D --defined-only "$lib" | grep -qw malloc_usable_size && return 0
  [[ "$status_line" == "rseq: placeholder"* ]] && return 1
  return 0  # the real allocator without malloc_usable_size: run, and let redis show the failure
}

passed=0
failed=0
table=()
# GNU time's last line holds "seconds kib" (a line before it may say how the command ended).
describe_time() {
  [[ -f "$1" ]] && tail -1 "$1" | awk '{printf "%8.2f %8.1f", $1, $2 / 1024}' || printf "%8s %8s" - -
}
for program in "${programs[@]}"; do
  base="$program.glibc"
  if [[ "$program" == redis ]] && ! redis_can_run; then
    echo "real_programs: SKIP redis: the placeholder librseqmalloc.so does not define" \
      "malloc_usable_size, and Debian's redis-server (linked with jemalloc) would pass rseqmalloc's" \
      "blocks to jemalloc's. Runs as soon as the real allocator lands." >&2
    table+=("$(printf "%-10s %-11s %s" redis all "SKIPPED (placeholder lacks malloc_usable_size)")")
    continue
  fi
  "program_$program" "$base"
  base_status=$?
  if ((base_status != 0)); then
    # The reference itself must work, or there is nothing to compare with.
    echo "real_programs: FAIL $program under glibc: exit $base_status" >&2
    tail -20 "$work/$base.err" >&2
    failed=$((failed + ${#modes[@]}))
    continue
  fi
  for mode in "${modes[@]}"; do
    label="$program.$mode"
    "program_$program" "$label"
    status=$?
    echo "real_programs: $program ($mode): exit $status (glibc: $base_status)" >&2
    verdict=ok
    if ((status != base_status)); then
      verdict="exit $status (glibc: $base_status)"
      ((status > 128 && status < 160)) && verdict="$verdict, killed by signal $((status - 128))"
    elif ! cmp -s "$work/$base.out" "$work/$label.out"; then
      verdict="output differs"
    fi
    if [[ "$verdict" == ok ]]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
      echo "real_programs: FAIL $program ($mode): $verdict" >&2
      diff "$work/$base.out" "$work/$label.out" | head -20 >&2
      echo "--- stderr of $program ($mode), last lines:" >&2
      tail -15 "$work/$label.err" >&2
    fi
    table+=("$(printf "%-10s %-11s %s   %s   %s" "$program" "$mode" \
      "$(describe_time "$work/$base.time")" "$(describe_time "$work/$label.time")" "$verdict")")
  done
done

echo
printf "%-10s %-11s %8s %8s   %8s %8s   %s\n" program mode "glibc s" "MiB" "rseqm s" "MiB" result
printf "%s\n" "${table[@]}"
echo
echo "real_programs: ${passed} passed, ${failed} failed"
((failed == 0))

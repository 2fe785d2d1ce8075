#!/usr/bin/env bash
# tools/count_test_results.py on made-up Bazel logs and test reports: which targets pass, fail
# and skip, how many skipped checks are counted, the suites' exit codes, and the exit code.
set -uo pipefail
script="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
logs="$work/testlogs"
problems=0

gtest_xml() {  # DIR then one "name:run|skipped" per test case
  local dir="$1"
  shift
  mkdir -p "$dir"
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<testsuites name="AllTests"><testsuite name="T">'
    for c in "$@"; do
      if [[ "${c#*:}" == skipped ]]; then
        echo "<testcase name=\"${c%%:*}\" classname=\"T\" status=\"run\" result=\"skipped\"><skipped message=\"cannot observe\"/></testcase>"
      else
        echo "<testcase name=\"${c%%:*}\" classname=\"T\" status=\"run\" result=\"completed\"/>"
      fi
    done
    echo '</testsuite></testsuites>'
  } >"$dir/test.xml"
}

bazel_xml() {  # what Bazel writes for a test that writes no report of its own
  mkdir -p "$1"
  echo '<?xml version="1.0" encoding="UTF-8"?><testsuites><testsuite name="x" tests="1"><testcase name="x" status="run"/></testsuite></testsuites>' >"$1/test.xml"
}

gtest_xml "$logs/a/all_run" one:run two:run
gtest_xml "$logs/a/some_skipped" one:run two:skipped three:skipped
gtest_xml "$logs/a/all_skipped" one:skipped two:skipped
gtest_xml "$logs/b/sharded/shard_1_of_2" one:skipped
gtest_xml "$logs/b/sharded/shard_2_of_2" two:run
bazel_xml "$logs/b/shell_checks"
printf 'checking\nSKIP: qemu not installed\nSKIP: cross compiler not installed\nok\n' >"$logs/b/shell_checks/test.log"
bazel_xml "$logs/b/shell_skips"
printf 'SKIP TEST: nothing to observe here\n' >"$logs/b/shell_skips/test.log"

cat >"$work/log" <<'LOG'
INFO: Found 9 test targets...
//a:all_run                                                   PASSED in 1.0s
//a:some_skipped                                     (cached) PASSED in 1.0s
//a:all_skipped                                               PASSED in 1.0s
//b:sharded                                                   PASSED in 2.0s
//b:shell_checks                                              PASSED in 2.0s
//b:shell_skips                                               PASSED in 2.0s
//b:broken                                                    FAILED in 2.0s
//b:slow                                                     TIMEOUT in 300.0s
//b:unbuilt                                          FAILED TO BUILD
Executed 8 out of 9 tests: 5 tests pass and 3 fail locally.
LOG

expect() {  # DESCRIPTION EXPECTED_RC EXPECTED_LAST_TWO_LINES ARGS...
  local what="$1" want_rc="$2" want="$3"
  shift 3
  local out rc
  out="$(python3 "$script" "$@" 2>&1)"
  rc=$?
  if [[ "$(tail -2 <<<"$out")" != "$want" || $rc != "$want_rc" ]]; then
    echo "FAIL $what: exit $rc (want $want_rc), output:"
    echo "$out"
    echo "wanted the last lines:"
    echo "$want"
    problems=$((problems + 1))
  else
    echo "ok   $what"
  fi
}

# all_skipped and shell_skips are skipped targets; sharded has one run case so it passes.
# Skipped checks: some_skipped 2 + sharded 1 + shell_checks 2 = 5.
expect "targets and suites" 1 $'skipped checks: 5 (inside passing targets)\n5 passed, 4 failed, 3 skipped' \
  --bazel-log "$work/log" --bazel-rc 3 --testlogs "$logs" \
  --suite good=0 --suite vm=77 --suite bad=1

grep -v -E 'broken|slow|unbuilt' "$work/log" >"$work/log_ok"
expect "no failures" 0 $'skipped checks: 5 (inside passing targets)\n4 passed, 0 failed, 2 skipped' \
  --bazel-log "$work/log_ok" --bazel-rc 0 --testlogs "$logs"

expect "bazel failed but no target did" 1 $'skipped checks: 5 (inside passing targets)\n4 passed, 1 failed, 2 skipped' \
  --bazel-log "$work/log_ok" --bazel-rc 1 --testlogs "$logs"

expect "a skipping suite alone" 0 $'skipped checks: 0 (inside passing targets)\n0 passed, 0 failed, 1 skipped' \
  --suite vm=77

((problems == 0)) || exit 1
echo "count_test_results: all cases as expected"

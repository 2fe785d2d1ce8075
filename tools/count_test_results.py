#!/usr/bin/env python3
"""Counts what ./run-tests ran and prints the summary CI reads, ending with the line
"N passed, N failed, N skipped".

Bazel test targets come from the status lines of a `bazel test` log; a target counts as
  failed   its status is FAILED, TIMEOUT, NO STATUS, INCOMPLETE or FLAKY (or Bazel itself failed,
           e.g. a build error, while no target failed: that counts as one failure);
  skipped  it passed, but it could observe nothing: every GoogleTest test in its test.xml was
           skipped (GTEST_SKIP), or a shell test printed a line "SKIP TEST: <reason>";
  passed   otherwise.
Inside passing targets, each skipped GoogleTest test, and each line "SKIP: <reason>" of a shell
test, is one skipped check; their number is printed just before the summary line.
Suites outside Bazel are given as NAME=EXIT_CODE: 0 passed, 77 skipped, anything else failed.

  count_test_results.py --bazel-log LOG --bazel-rc RC --testlogs DIR [--suite NAME=RC ...]
Exits 1 if anything failed, else 0.
"""

import argparse
import glob
import os
import re
import sys
import xml.etree.ElementTree as ElementTree

STATUS_LINE = re.compile(
    r"^(//\S+)\s+(?:\(cached\)\s+)?"
    r"(PASSED|FAILED TO BUILD|FAILED|TIMEOUT|NO STATUS|INCOMPLETE|FLAKY)\b")
SUITE_SKIPPED = 77


def target_dir(testlogs, label):
    """//pkg/sub:name -> TESTLOGS/pkg/sub/name (Bazel's layout of bazel-testlogs)."""
    package, _, name = label[2:].partition(":")
    return os.path.join(testlogs, package, name)


def gtest_cases(xml_path):
    """The <testcase> elements of a GoogleTest XML report, or None if it is not one (Bazel writes
    its own one-case XML for tests that do not, without GoogleTest's classname attribute)."""
    try:
        root = ElementTree.parse(xml_path).getroot()
    except (ElementTree.ParseError, OSError):
        return None
    cases = list(root.iter("testcase"))
    if not cases or any(case.get("classname") is None for case in cases):
        return None
    return cases


def is_skipped_case(case):
    return case.get("result") == "skipped" or case.find("skipped") is not None


def skips_of_target(directory):
    """(whole target skipped, skipped checks, reason) from a passing target's reports. Shards
    and repeated runs each have their own test.xml/test.log below the directory."""
    xmls = sorted(glob.glob(os.path.join(directory, "**", "test.xml"), recursive=True))
    runs = [gtest_cases(path) for path in xmls]
    if runs and all(cases is not None for cases in runs):
        cases = [case for run in runs for case in run]
        skipped = [case for case in cases if is_skipped_case(case)]
        if len(skipped) == len(cases):
            first = skipped[0].find("skipped")
            reason = first.get("message", "") if first is not None else ""
            return True, 0, "every GoogleTest test skipped: " + reason.replace("\n", " ")
        return False, len(skipped), ""
    whole, checks, reason = False, 0, ""
    for log in sorted(glob.glob(os.path.join(directory, "**", "test.log"), recursive=True)):
        try:
            lines = open(log, errors="replace").read().splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("SKIP TEST: "):
                whole, reason = True, line[len("SKIP TEST: "):]
            elif line.startswith("SKIP: "):
                checks += 1
    return whole, (0 if whole else checks), reason


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bazel-log", help="output of `bazel test`")
    parser.add_argument("--bazel-rc", type=int, default=0, help="exit code of `bazel test`")
    parser.add_argument("--testlogs", default="bazel-testlogs", help="Bazel's bazel-testlogs")
    parser.add_argument("--suite", action="append", default=[], metavar="NAME=RC")
    args = parser.parse_args()

    passed = failed = skipped = skipped_checks = 0
    if args.bazel_log:
        statuses = {}
        for line in open(args.bazel_log, errors="replace"):
            match = STATUS_LINE.match(line.rstrip("\n"))
            if match:
                statuses[match.group(1)] = match.group(2)
        for label in sorted(statuses):
            if statuses[label] != "PASSED":
                failed += 1
                continue
            whole, checks, reason = skips_of_target(target_dir(args.testlogs, label))
            if whole:
                skipped += 1
                print(f"skipped: {label} ({reason.strip()})")
            else:
                passed += 1
                skipped_checks += checks
        # A build failure leaves no status behind for the targets it stopped.
        if args.bazel_rc != 0 and failed == 0:
            failed = 1
            print(f"failed: bazel test exited {args.bazel_rc} with no failed target (build error?)")

    for suite in args.suite:
        name, _, rc_text = suite.rpartition("=")
        rc = int(rc_text)
        if rc == 0:
            passed += 1
        elif rc == SUITE_SKIPPED:
            skipped += 1
            print(f"skipped: suite {name}")
        else:
            failed += 1

    print(f"skipped checks: {skipped_checks} (inside passing targets)")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Runs the runner's unit tests with Debian's python3 (stdlib only). $1 = measured_exec helper.
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/runner_test.py" "$1" -v

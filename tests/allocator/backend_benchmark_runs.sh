#!/bin/sh
# Smoke test: every back-end benchmark runs to completion (numbers are not checked here).
set -eu
"$1" --benchmark_min_time=0.01

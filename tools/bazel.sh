#!/usr/bin/env bash
# Runs Debian's Bazel for this workspace after making sure it is installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/tools/bootstrap.sh"
cd "$root"
exec bazel "$@"

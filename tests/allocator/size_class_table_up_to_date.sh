#!/bin/sh
# Regenerates the size-class table and compares it with the checked-in one.
set -eu
generator="$1"
table="$2"
out="${TEST_TMPDIR:-/tmp}/size_class_table.inc"
python3 "$generator" --stdout > "$out"
if ! diff -u "$table" "$out"; then
  echo "allocator/size_class_table.inc is stale: run python3 tools/gen_size_classes.py" >&2
  exit 1
fi
echo "size_class_table.inc matches the generator"

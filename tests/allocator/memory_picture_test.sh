#!/usr/bin/env bash
# tools/memory_picture.py draws a bar per statistics dump whose layers carry the dump's numbers,
# and it rejects input that is not a dump.
set -euo pipefail
phases="$1" tool="$2"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$phases" "$dir"
/usr/bin/python3 "$tool" "$dir"/1-allocated.txt "$dir"/2-freed.txt "$dir"/3-released.txt \
  -o "$dir/picture.svg"
svg="$dir/picture.svg"
grep -q '^<svg ' "$svg" && grep -q '</svg>' "$svg"
bytes_of() {  # bytes_of LAYER NTH_BAR
  grep -o "data-layer=\"$1\" data-bytes=\"[0-9]*" "$svg" | sed -n "${2}p" | grep -o '[0-9]*$'
}
stat_of() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
# Bar 1 shows the application's ~40 MB exactly as the dump says.
[[ "$(bytes_of application 1)" == "$(stat_of application_bytes "$dir/1-allocated.txt")" ]]
(( $(bytes_of application 1) >= 40000000 ))
# After the release, the memory sits in the "returned" layer of the last bar.
returned_last=$(stat_of page_heap.returned_bytes "$dir/3-released.txt")
(( returned_last >= 40000000 ))
grep -q "data-layer=\"returned\" data-bytes=\"$returned_last\"" "$svg"
# Not a dump: a clear error, no picture.
echo "hello" > "$dir/junk.txt"
if /usr/bin/python3 "$tool" "$dir/junk.txt" -o "$dir/junk.svg" 2>"$dir/err"; then
  echo "accepted junk input"; exit 1
fi
grep -q "not a statistics dump" "$dir/err"
echo "ok"

#!/usr/bin/env python3
"""Fails when cmake/sources.cmake and the Bazel targets that build the libraries disagree.

Usage: check_sources.py BAZEL_SOURCES_TSV SOURCES_CMAKE

BAZEL_SOURCES_TSV comes from the bazel_sources rule (role, label, copts, path per line). For every
compiled file it checks that cmake/sources.cmake lists it in exactly one group whose options
(RSEQMALLOC_<GROUP>_COPTS) are the Bazel target's copts and whose membership of
RSEQMALLOC_ARCHIVE_GROUPS / RSEQMALLOC_SHARED_GROUPS matches the libraries Bazel puts it in, and
that the CMake list has nothing more. Every difference is printed as the edit that fixes it.
When the list is right it also checks itself: a copy with one file missing and one extra must
fail with exactly those two edits.
"""
import re
import sys

SOURCES_FILE = "cmake/sources.cmake"
SET_RE = re.compile(r"^set\((\w+)(.*)$")


def parse_cmake_lists(text):
  """Returns {name: [items]} for the set() commands of the restricted sources.cmake format."""
  lists, name, items = {}, None, []
  for number, raw in enumerate(text.splitlines(), 1):
    line = raw.split("#", 1)[0].strip()
    if not line:
      continue
    if name is None:
      match = SET_RE.match(line)
      if not match:
        raise ValueError(f"{SOURCES_FILE}:{number}: expected set(NAME ...), got: {raw}")
      name, rest = match.group(1), match.group(2).strip()
      if rest.endswith(")"):  # one-line set(NAME a b)
        lists[name] = rest[:-1].split()
        name = None
      elif rest:
        raise ValueError(f"{SOURCES_FILE}:{number}: put the items of {name} on their own lines")
      else:
        items = []
    elif line == ")":
      lists[name], name = items, None
    else:
      items.extend(line.split())
  if name is not None:
    raise ValueError(f"{SOURCES_FILE}: set({name} is never closed")
  return lists


def cmake_groups(lists):
  """Returns {group: (copts tuple, in archive, in shared, [sources])}."""
  archive = lists.get("RSEQMALLOC_ARCHIVE_GROUPS", [])
  shared = lists.get("RSEQMALLOC_SHARED_GROUPS", [])
  groups = {}
  for group in dict.fromkeys(archive + shared):
    sources = lists.get(f"RSEQMALLOC_{group}_SOURCES")
    copts = lists.get(f"RSEQMALLOC_{group}_COPTS")
    if sources is None or copts is None:
      raise ValueError(f"{SOURCES_FILE}: group {group} needs RSEQMALLOC_{group}_SOURCES and "
                       f"RSEQMALLOC_{group}_COPTS")
    groups[group] = (tuple(copts), group in archive, group in shared, sources)
  return groups


def read_bazel(tsv):
  """Returns {path: [copts tuple, in archive, in shared, label]}."""
  files = {}
  for line in tsv.splitlines():
    if not line.strip():
      continue
    role, label, copts, path = line.split("\t")
    entry = files.setdefault(path, [tuple(copts.split()), False, False, label])
    entry[1 if role == "archive" else 2] = True
  return files


def differences(bazel, groups):
  """Returns the edits that make the CMake groups equal to what Bazel builds."""
  edits = []
  where = {}
  for group, (_, _, _, sources) in groups.items():
    for path in sources:
      where.setdefault(path, []).append(group)

  def describe(copts, in_archive, in_shared):
    libs = [n for n, on in (("librseqmalloc.a", in_archive), ("librseqmalloc.so", in_shared)) if on]
    return f"options [{' '.join(copts)}], in {' and '.join(libs)}"

  for path, (copts, in_archive, in_shared, label) in sorted(bazel.items()):
    fitting = [g for g, (c, a, s, _) in groups.items() if (c, a, s) == (copts, in_archive, in_shared)]
    listed = where.get(path, [])
    kept = [g for g in listed if g in fitting][:1]  # the one listing to keep, if any fits
    for group in listed:
      if group not in kept:
        edits.append(f"remove {path} from RSEQMALLOC_{group}_SOURCES")
    if kept:
      continue
    hint = ""
    if in_shared and not in_archive:
      hint = ("; Bazel leaves it out of librseqmalloc.a: if that is not meant, add "
              f"{label} to the srcs of //allocator:librseqmalloc_archive instead")
    if fitting:
      edits.append(f"add {path} to RSEQMALLOC_{fitting[0]}_SOURCES (Bazel: {label}{hint})")
    else:
      edits.append(f"add {path} to a new group: no group has Bazel's "
                   f"{describe(copts, in_archive, in_shared)} (Bazel: {label}{hint}); add "
                   f"RSEQMALLOC_<GROUP>_SOURCES and _COPTS and list <GROUP> in "
                   f"RSEQMALLOC_ARCHIVE_GROUPS / RSEQMALLOC_SHARED_GROUPS as fits")
  for path, listed in sorted(where.items()):
    if path not in bazel:
      for group in listed:
        edits.append(f"remove {path} from RSEQMALLOC_{group}_SOURCES (no Bazel target of "
                     f"librseqmalloc.so or librseqmalloc.a compiles it)")
  return edits


def check(bazel, cmake_text):
  return differences(bazel, cmake_groups(parse_cmake_lists(cmake_text)))


def self_test(bazel, cmake_text):
  """The check must catch a file missing from the list and a file the list has in excess."""
  dropped = "percpu/fence.cc"
  mutated = cmake_text.replace(f"  {dropped}\n", "  allocator/no_such_file.cc\n", 1)
  got = check(bazel, mutated)
  want = [f"add {dropped} to RSEQMALLOC_PERCPU_SOURCES (Bazel: {bazel[dropped][3]})",
          "remove allocator/no_such_file.cc from RSEQMALLOC_PERCPU_SOURCES (no Bazel target of "
          "librseqmalloc.so or librseqmalloc.a compiles it)"]
  if got != want:
    sys.exit(f"self-test failed: a mutated list gave {got}, expected {want}")


def main():
  tsv_path, cmake_path = sys.argv[1:3]
  with open(tsv_path) as f:
    bazel = read_bazel(f.read())
  with open(cmake_path) as f:
    cmake_text = f.read()
  if "percpu/fence.cc" not in bazel:
    sys.exit("the Bazel source list has no percpu/fence.cc: the aspect found nothing")
  try:
    edits = check(bazel, cmake_text)
  except ValueError as error:
    sys.exit(str(error))
  if edits:
    print(f"{SOURCES_FILE} differs from the Bazel targets of librseqmalloc.so/.a. Edit it:")
    for edit in edits:
      print(f"  {edit}")
    sys.exit(1)
  self_test(bazel, cmake_text)
  print(f"ok: {SOURCES_FILE} lists the {len(bazel)} files Bazel compiles, with the same options")


if __name__ == "__main__":
  main()

"""Writes a git fast-import stream to stdout: a deterministic history of many commits over many
files (additions, edits, renames by delete and add, one merge per hundred commits), with fixed
authors and dates so that every object id is the same on every run."""
import sys

COMMITS = int(sys.argv[1]) if len(sys.argv) > 1 else 1500
FILES = 400
out = sys.stdout.buffer


def blob_text(path_id, version):
    lines = ["file %d version %d" % (path_id, version)]
    lines += ["line %d of file %d: %s" % (n, path_id, "x" * ((n * path_id + version) % 60))
              for n in range((path_id * 13 + version) % 120)]
    return ("\n".join(lines) + "\n").encode()


def data(payload):
    out.write(b"data %d\n" % len(payload))
    out.write(payload)
    out.write(b"\n")


versions = {}
for c in range(1, COMMITS + 1):
    when = 1577836800 + c * 3600
    out.write(b"commit refs/heads/main\n")
    out.write(b"mark :%d\n" % c)
    out.write(b"author Reliability <rel@example.invalid> %d +0000\n" % when)
    out.write(b"committer Reliability <rel@example.invalid> %d +0000\n" % when)
    data(b"commit %d: touch files\n" % c)
    if c > 1:
        out.write(b"from :%d\n" % (c - 1))
    for k in range(5 if c > 1 else FILES // 4):
        path_id = (c * 37 + k * 101) % FILES
        versions[path_id] = versions.get(path_id, 0) + 1
        payload = blob_text(path_id, versions[path_id])
        out.write(b"M 100644 inline dir%d/file%d.txt\n" % (path_id % 17, path_id))
        data(payload)
    if c % 50 == 0:
        gone = (c * 7) % FILES
        if gone in versions:
            out.write(b"D dir%d/file%d.txt\n" % (gone % 17, gone))
            del versions[gone]
    out.write(b"\n")
out.write(b"done\n")

#!/usr/bin/env python3
"""Writes a newc-format cpio archive for use as an initramfs, without root and without the
kernel tree: the given files (all made executable), their parent directories, the mount points
the guest's /init uses, and the /dev/console node (without it the guest's output is lost).

    mkinitramfs.py OUT.cpio /init=path/to/guest_init /bin/alloc_stress=path/to/alloc_stress ...
"""
import os
import stat
import sys

MTIME = 0  # fixed, so the same inputs give byte-identical archives


def header(ino, mode, size, name, rdev=(0, 0), nlink=1):
    fields = [ino, mode, 0, 0, nlink, MTIME, size, 0, 0, rdev[0], rdev[1], len(name) + 1, 0]
    return b"070701" + b"".join(b"%08x" % f for f in fields)


def pad4(n):
    return b"\0" * ((4 - n % 4) % 4)


def entry(out, ino, mode, name, data=b"", rdev=(0, 0)):
    encoded = name.encode()
    head = header(ino, mode, len(data), encoded, rdev, 2 if stat.S_ISDIR(mode) else 1)
    out.write(head + encoded + b"\0")
    out.write(pad4(len(head) + len(encoded) + 1))
    out.write(data)
    out.write(pad4(len(data)))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    files = []
    for spec in argv[2:]:
        dest, _, src = spec.partition("=")
        if not dest.startswith("/") or not src:
            sys.exit("bad entry %r (want /dest=source)" % spec)
        files.append((dest.lstrip("/"), src))
    dirs = {"dev", "proc", "sys", "tmp", "bin"}
    for dest, _ in files:
        parent = os.path.dirname(dest)
        while parent:
            dirs.add(parent)
            parent = os.path.dirname(parent)
    tmp = argv[1] + ".tmp"
    with open(tmp, "wb") as out:
        ino = 1
        for d in sorted(dirs):
            entry(out, ino, stat.S_IFDIR | 0o755, d)
            ino += 1
        entry(out, ino, stat.S_IFCHR | 0o600, "dev/console", rdev=(5, 1))
        ino += 1
        for dest, src in sorted(files):
            with open(src, "rb") as f:
                entry(out, ino, stat.S_IFREG | 0o755, dest, f.read())
            ino += 1
        entry(out, 0, 0, "TRAILER!!!")
        out.write(b"\0" * ((512 - out.tell() % 512) % 512))
    os.replace(tmp, argv[1])


if __name__ == "__main__":
    main(sys.argv)

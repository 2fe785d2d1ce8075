#!/usr/bin/env python3
"""Counts the instructions of the allocation hit paths in a built allocator library.

A hit path is a path through the function from its entry to a `ret` that makes no call, leaves
the function by no jump, and runs an rseq critical section: it stores a register to offset 8 of
the rseq area (rseq_cs), %fs-relative or through a register (x86_64 disassembly). The paths are found in the disassembly (objdump), not guessed: every such
acyclic path is enumerated and the shortest and longest are reported (they differ when the
size-class lookup has two branches, e.g. sizes up to 1 KiB and above).

Usage: tools/hit_path_instructions.py [LIBRARY] [SYMBOL ...]
  default LIBRARY: bazel-bin/allocator/librseqmalloc.so
  default SYMBOLs: malloc free _Znwm _ZdlPvm (operator new, sized operator delete)
Exit status 1 if a symbol has no hit path (e.g. the critical section is no longer inlined).
"""

import re
import subprocess
import sys

DEFAULT_SYMBOLS = ["malloc", "free", "_Znwm", "_ZdlPvm"]
LINE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
TARGET = re.compile(r"^([0-9a-f]+)\s*<([^>]*)>")
ARM_RSEQ_CS = re.compile(r"^%r\w+,(%fs:)?0x8\(%r\w+\)$")


def disassemble(library, symbol):
    """[(address, mnemonic, operands)] of one function."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--disassemble={symbol}",
                          library], check=True, capture_output=True, text=True).stdout
    insns = []
    for line in out.splitlines():
        m = LINE.match(line)
        if m and not line.rstrip().endswith(":"):
            insns.append((int(m.group(1), 16), m.group(2), m.group(3)))
    return insns


def hit_paths(insns):
    """Lengths of every acyclic entry-to-ret path without calls or exits that arms rseq."""
    index = {addr: i for i, (addr, _, _) in enumerate(insns)}
    lengths = []

    def successors(i):
        _, op, args = insns[i]
        if op.startswith("ret"):
            return "ret"
        if op.startswith("call"):
            return None
        if op.startswith("j"):
            m = TARGET.match(args.strip())
            target = index.get(int(m.group(1), 16)) if m else None
            if op.startswith("jmp"):
                return [target] if target is not None else None  # a tail call leaves: no hit
            nxt = [i + 1] if i + 1 < len(insns) else []
            return nxt + ([target] if target is not None else [])
        return [i + 1] if i + 1 < len(insns) else []

    def walk(i, seen, count, armed):
        if i in seen:
            return
        _, op, args = insns[i]
        armed = armed or (op.startswith("mov") and ARM_RSEQ_CS.match(args.strip()) is not None)
        succ = successors(i)
        if succ == "ret":
            if armed:
                lengths.append(count + 1)
            return
        if succ is None:
            return
        seen.add(i)
        for j in succ:
            walk(j, seen, count + 1, armed)
        seen.discard(i)

    if insns:
        walk(0, set(), 0, False)
    return lengths


def main(argv):
    library = argv[1] if len(argv) > 1 else "bazel-bin/allocator/librseqmalloc.so"
    symbols = argv[2:] or DEFAULT_SYMBOLS
    status = 0
    for symbol in symbols:
        lengths = hit_paths(disassemble(library, symbol))
        if not lengths:
            print(f"{symbol:10s} no hit path found")
            status = 1
            continue
        print(f"{symbol:10s} hit path {min(lengths)}..{max(lengths)} instructions "
              f"({len(lengths)} paths)")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))

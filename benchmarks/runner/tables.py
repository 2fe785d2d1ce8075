"""Plain tables for the console and Markdown, shared by every section of the report: the first
`left` columns are names (left-aligned), the rest numbers (right-aligned)."""

from typing import Sequence


def text(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) if i < left else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
                     for cells in [tuple(header)] + [tuple(r) for r in rows])


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join(":--" if i < left else "--:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(lines)

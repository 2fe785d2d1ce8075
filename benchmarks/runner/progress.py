"""One line per finished run, with a count and an estimate of the time left, so a long run shows
where it is and a person can tell a hang from slow progress."""

import sys
import time


class Progress:
    def __init__(self, total: int, stream=sys.stderr):
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self.stream = stream

    def report(self, label: str, detail: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        left = elapsed / self.done * (self.total - self.done)
        width = len(str(self.total))
        self.stream.write(f"[{self.done:{width}d}/{self.total}] {label:<38} {detail:<34} "
                          f"{elapsed:5.0f} s, ~{left:.0f} s left\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

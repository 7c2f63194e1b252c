"""Progress of long work (imports, expiry, generators), printed to a stream at most every `every` seconds."""

import sys
import time
from typing import TextIO


class Progress:
    """Counts done units against an optional total and prints "label: done/total (pct) rate/s" lines."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None, every: float = 1.0):
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.done = 0
        self._started = time.monotonic()
        self._last = 0.0

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._print(now)

    def finish(self) -> None:
        self._print(time.monotonic(), final=True)

    def _print(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self._started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            text = f"{self.label}: {self.done:,}/{self.total:,} ({100 * self.done / self.total:.0f}%)"
        else:
            text = f"{self.label}: {self.done:,}"
        suffix = f" in {elapsed:.1f}s" if final else ""
        print(f"{text}, {rate:,.0f}/s{suffix}", file=self.stream, flush=True)

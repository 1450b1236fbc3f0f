"""Progress of a long task on a terminal: one line rewritten in place (how far, how fast, how long is left),
then a summary line. Nothing at all when the stream is not a terminal, so logs and pipes stay clean."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class ProgressLine:
    """`show` how far a task has come; `finish` with a summary. Writes to `stream` (stderr by default) only
    when it is a terminal, at most every `every` seconds; `clock` gives seconds (monotonic)."""

    def __init__(self, task: str, unit: str, stream: TextIO | None = None, every: float = 0.25,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.task = task
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.shown = self.stream.isatty()
        self.every = every
        self.clock = clock
        self.started = clock()
        self._last = float("-inf")
        self._count = 0

    def show(self, done: float, count: int) -> None:
        """`done`: the share of the task done, 0 to 1; `count`: how many units so far."""
        self._count = count
        now = self.clock()
        if not self.shown or now - self._last < self.every:
            return
        self._last = now
        elapsed = now - self.started
        rate = f", {count / elapsed:,.0f}/s" if elapsed > 0 else ""
        left = f", {elapsed * (1 - done) / done:.0f} s left" if 0 < done < 1 else ""
        self._write(f"\r\033[K{self.task}: {done:.0%} ({count:,} {self.unit}{rate}{left})")

    def finish(self, summary: str | None = None) -> None:
        """Replace the line by `summary` (default: how many units in how long)."""
        if self.shown:
            text = summary or f"{self.task}: {self._count:,} {self.unit} in {self.clock() - self.started:.1f} s"
            self._write(f"\r\033[K{text}\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.shown = False  # the terminal went away: the task goes on without its progress

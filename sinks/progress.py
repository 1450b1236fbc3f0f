"""How far long work is: a one-line progress bar on stderr, only when stderr is a terminal.

Work in (units done of a total, as it goes), one redrawn line out: what, a bar, the share done, the
rate and the time left, at most ten times a second. A log or a pipe gets nothing: the result lines the
work prints at the end say it all there. A line the console prints meanwhile (`-m`'s reports while its
past loads, `--replay`'s transitions) first clears the bar (`clear_shown`), so it starts on a clean line;
the bar is drawn again under it at its next update.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import TextIO

from monitoringapp.domain.timefmt import format_duration

_BAR_CELLS = 20
_REDRAW_EVERY = 0.1
_shown: list[ProgressBar] = []  # the bars drawn on a terminal now (one, in practice)


def clear_shown() -> None:
    """Clear every bar drawn now, before another line is printed on the terminal."""
    for bar in tuple(_shown):
        bar.close()


class ProgressBar:
    """`update(done, total)` as the work goes, `close()` at its end (or when it is stopped).

    `stream` is stderr unless given; `enabled` defaults to whether it is a terminal. `clock` (monotonic
    seconds) times the rate.
    """

    def __init__(self, what: str, unit: str, stream: TextIO | None = None, enabled: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.clock = clock
        self._started: float | None = None
        self._drawn_at: float | None = None
        self._width = 0

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if self._started is None:
            self._started = now
        if self._drawn_at is not None and now - self._drawn_at < _REDRAW_EVERY and done < total:
            return
        self._drawn_at = now
        self._draw(self.line(done, total, now - self._started))

    def line(self, done: int, total: int, elapsed: float) -> str:
        """`purging probes [#####---------------]  25%  250,000 of 1,000,000 rows  500,000 rows/s, 1s left`"""
        share = done / total if total > 0 else 1.0
        filled = round(share * _BAR_CELLS)
        text = (f"{self.what} [{'#' * filled}{'-' * (_BAR_CELLS - filled)}] {share * 100:3.0f}%  "
                f"{done:,} of {total:,} {self.unit}")
        if elapsed > 0 and done > 0:
            rate = done / elapsed
            text += f"  {rate:,.0f} {self.unit}/s, {format_duration((total - done) / rate)} left"
        return text

    def _draw(self, text: str) -> None:
        padding = " " * max(0, self._width - len(text))
        self._width = len(text)
        if self not in _shown:
            _shown.append(self)
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()

    def close(self) -> None:
        """Clear the bar's line, so that what is printed next starts on a clean one."""
        if self in _shown:
            _shown.remove(self)
        if self.enabled and self._width:
            self._width, width = 0, self._width
            self._drawn_at = None  # drawn again at the next update, whenever it comes
            with contextlib.suppress(OSError, ValueError):  # the terminal gone (or closed): nothing to clear
                self.stream.write("\r" + " " * width + "\r")
                self.stream.flush()

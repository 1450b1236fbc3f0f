"""The console: reports as aligned tables, alerts and recoveries as one line each, as they happen.

Never clears the screen, so everything stays in the scrollback; colour only on a terminal.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from monitoringapp.domain.events import AlertTransition, Report, TransitionKind, WindowStats
from monitoringapp.domain.timefmt import format_duration, iso_utc
from monitoringapp.sinks.table import format_table

_RED, _GREEN, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[1m", "\033[0m"

REPORT_HEADER = ("site", "checks", "avail", "min ms", "avg ms", "p50 ms", "p90 ms", "p99 ms", "max ms",
                 "codes", "errors", "down for", "last fail")
_RIGHT = (False, True, True, True, True, True, True, True, True, False, False, True, True)


def percent(fraction: float | None) -> str:
    return "-" if fraction is None else f"{fraction * 100:.1f}%"


def millis(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def ago(seconds: float | None) -> str:
    return "-" if seconds is None else format_duration(seconds)


def stats_cells(row: WindowStats) -> list[str]:
    codes = " ".join(f"{code}:{n}" for code, n in row.status_counts) or "-"
    errors = " ".join(f"{kind.value}:{n}" for kind, n in row.error_counts) or "-"
    return [row.host, str(row.checks), percent(row.availability), millis(row.rt_min), millis(row.rt_avg),
            millis(row.rt_p50), millis(row.rt_p90), millis(row.rt_p99), millis(row.rt_max),
            codes, errors, ago(row.current_downtime), ago(row.since_last_failure)]


def report_lines(report: Report) -> list[str]:
    title = f"== past {format_duration(report.span)} at {iso_utc(report.timestamp)} =="
    rows = [stats_cells(row) for row in sorted(report.rows, key=lambda r: r.host)]
    return [title, *format_table(REPORT_HEADER, rows, _RIGHT)] if rows else [title, "(no checks yet)"]


def transition_line(transition: AlertTransition) -> str:
    """The seed's messages: `Website {URL} is down. ...` / `Website {URL} recovered. ...`."""
    availability = percent(transition.availability)
    time = iso_utc(transition.timestamp)
    if transition.kind is TransitionKind.ALERT:
        return f"Website {transition.host} is down. availability={availability}, time={time}"
    duration = format_duration(transition.timestamp - transition.start)
    return (f"Website {transition.host} recovered. availability={availability}, time={time}, "
            f"down since {iso_utc(transition.start)} ({duration})")


class Console:
    """Writes lines to `stream` from any thread, whole lines at a time.

    When the reader of the stream goes away (`monitoringApp -m | head`), the console
    closes: later writes are dropped and `on_closed` is called once, so its owner can
    stop as a Unix filter would, instead of the writing thread dying on a BrokenPipeError.
    """

    def __init__(self, stream: TextIO | None = None, colour: bool | None = None,
                 on_closed: Callable[[], None] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self.colour = self.stream.isatty() if colour is None else colour
        self.on_closed = on_closed
        self.closed = False
        self._lock = threading.Lock()

    def write(self, lines: list[str]) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except BrokenPipeError:
                self.closed = True
                self._discard_unwritten()
        if self.closed and self.on_closed is not None:
            on_closed, self.on_closed = self.on_closed, None
            on_closed()

    def reader_gone(self) -> bool:
        """True once the reader of the stream has gone, found without writing (`-a | head -2` while no new
        row comes): the write end of a pipe whose reader closed polls as an error, a hung-up terminal as
        a hang-up. A file, or a stream with no descriptor, never has its reader go."""
        if self.closed:
            return True
        try:
            descriptor = self.stream.fileno()
        except (OSError, ValueError, io.UnsupportedOperation):
            return False
        poller = select.poll()
        poller.register(descriptor, 0)  # no events asked for: only errors and hang-ups are reported
        return any(mask & (select.POLLERR | select.POLLHUP | select.POLLNVAL) for _, mask in poller.poll(0))

    def _discard_unwritten(self) -> None:
        # What is still buffered would fail again at interpreter exit ("Exception ignored ...
        # BrokenPipeError"): point the descriptor at /dev/null so that last flush goes nowhere.
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)

    def paint(self, text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if self.colour else text

    def show_report(self, report: Report) -> None:
        lines = report_lines(report)
        self.write([self.paint(lines[0], _BOLD), *lines[1:], ""])

    def paint_transition(self, text: str, transition: AlertTransition) -> str:
        """`text` in the colour of `transition`: red for an alert, green for a recovery."""
        return self.paint(text, _RED if transition.kind is TransitionKind.ALERT else _GREEN)

    def show_transition(self, transition: AlertTransition) -> None:
        self.write([self.paint_transition(transition_line(transition), transition)])

    def info(self, text: str) -> None:
        self.write([text])

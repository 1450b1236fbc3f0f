"""The console: reports as aligned tables, alerts and recoveries as one line each, as they happen.

Never clears the screen, so everything stays in the scrollback; colour only on a terminal, and not even
there with `NO_COLOR` set. A report fits the terminal's width (or `COLUMNS`): long URLs are shortened
with the full one in a footnote, and where even that is too wide each site takes two lines.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import select
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO, TypeVar

from monitoringapp.domain.events import AlertTransition, Report, Stall, TransitionKind, WindowStats
from monitoringapp.domain.percent import percent_text
from monitoringapp.domain.timefmt import format_duration, iso_utc
from monitoringapp.operators.certificate_watch import expiry_text
from monitoringapp.operators.clock_skew import ClockAhead
from monitoringapp.operators.store_silence import StoreSilence
from monitoringapp.sinks.progress import clear_shown
from monitoringapp.sinks.table import ELLIPSIS, display_width, format_table, shorten, table_width

C = TypeVar("C")

_RED, _GREEN, _YELLOW, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[33m", "\033[1m", "\033[0m"

REPORT_HEADER = ("site", "checks", "avail", "min ms", "avg ms", "p50 ms", "p90 ms", "p99 ms", "max ms",
                 "codes", "errors", "down for", "last fail")
_RIGHT = (False, True, True, True, True, True, True, True, True, False, False, True, True)
# The two-line layout: the site, its codes and errors on one line; its numbers on the next, indented.
_NAMED = (0, 9, 10)
_NUMBERS = (1, 2, 3, 4, 5, 6, 7, 8, 11, 12)
# Their header: the response-time unit said once, so that the columns can be as narrow as their numbers.
_NUMBERS_HEADER = ("checks", "avail", "ms min", "avg", "p50", "p90", "p99", "max", "down for", "last fail")
_INDENT = "  "
_NARROWEST_SITE = 24  # a site column narrower than this says too little: two lines per site instead
_SEEN_LATE = 1.0  # an alert printed this long after its check also says when it was seen
# The kinds judged at an availability below the site's alertThreshold.
BELOW_THRESHOLD = frozenset({TransitionKind.ALERT, TransitionKind.LOCATION_ALERT})


def percent(fraction: float | None, below: bool = False) -> str:
    """`66.7%`; with `below` (an alert's availability, below its threshold) rounded down, so that it never reads
    as the threshold: 79.96 % is `79.9%`, not `80.0%`."""
    return "-" if fraction is None else percent_text(fraction, below=below)


def transition_percent(transition: AlertTransition) -> str:
    """The availability a transition was judged at: an alert's is below its threshold, so it reads below it."""
    return percent(transition.availability, below=transition.kind in BELOW_THRESHOLD)


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


STALLS_KEPT = 100
"""The monitor's latest stalls a report's coverage looks at (older ones are out of any window by then)."""


@dataclass(slots=True)
class ReportContext:
    """What a report's reader should know beyond its numbers: since when there is data at all
    (`data_since`: a window reaching further back is only partly covered), when the monitor did not run (`stalls`:
    no part of a window's coverage either) and, for a reader of the store, when the newest probe was stored
    (`stored`: the probe stored last; nothing new stored for more than `stale_after` seconds: stale)."""

    data_since: float | None = None
    stored: StoreSilence = field(default_factory=StoreSilence)
    stale_after: float | None = None
    stalls: deque[Stall] = field(default_factory=lambda: deque(maxlen=STALLS_KEPT))


def report_lines(report: Report, width: int | None = None, context: ReportContext | None = None) -> list[str]:
    """The report as lines at most `width` cells wide (None: as wide as it needs)."""
    context = context or ReportContext()
    covered = _covered(report, context)
    title = f"== past {format_duration(report.span)} at {iso_utc(report.timestamp)}{covered} =="
    stale = _staleness(report.timestamp, context)
    cells = [stats_cells(row) for row in sorted(report.rows, key=lambda r: r.host)]
    if not cells:
        # A monitor that did not run for longer than the window had checks before it: none in this window.
        empty = "no checks yet" if context.stored.last is None and not context.stalls else "no checks in this window"
        return [title, f"({empty}{'; ' + stale if stale else ''})"]
    notes = [f"({stale})"] if stale else []
    table = format_table(REPORT_HEADER, cells, _RIGHT)
    if width is None or table_width(table) <= width:
        return [title, *table, *notes]
    rest = table_width(format_table(REPORT_HEADER[1:], [row[1:] for row in cells], _RIGHT[1:]))
    if width - rest - 2 >= _NARROWEST_SITE:
        sites, footnotes = _shortened([row[0] for row in cells], width - rest - 2)
        return [title, *format_table(REPORT_HEADER, [[site, *row[1:]] for site, row in zip(sites, cells,
                                                                                          strict=True)], _RIGHT),
                *notes, *footnotes]
    return [title, *_two_lines_per_site(cells, width), *notes]


def _two_lines_per_site(cells: list[list[str]], width: int) -> list[str]:
    named_rows = [_pick(row, _NAMED) for row in cells]
    named_header, named_right = _pick(REPORT_HEADER, _NAMED), _pick(_RIGHT, _NAMED)
    footnotes: list[str] = []
    named = format_table(named_header, named_rows, named_right)
    if table_width(named) > width:
        others = table_width(format_table(named_header[1:], [row[1:] for row in named_rows], named_right[1:]))
        sites, footnotes = _shortened([row[0] for row in named_rows], max(_NARROWEST_SITE, width - others - 2))
        named = format_table(named_header, [[site, *row[1:]] for site, row in zip(sites, named_rows, strict=True)],
                             named_right)
    number_rows = [_pick(row, _NUMBERS) for row in cells]
    number_header, number_right = _NUMBERS_HEADER, _pick(_RIGHT, _NUMBERS)
    numbers = format_table(number_header, number_rows, number_right, indent=_INDENT)
    if table_width(numbers) > width:
        numbers = format_table(number_header, number_rows, number_right, gap=1, indent=_INDENT)
    lines = [named[0], numbers[0]]
    for site_line, number_line in zip(named[1:], numbers[1:], strict=True):
        lines += [site_line, number_line]
    return [*lines, *footnotes]


def _pick(row: Sequence[C], which: tuple[int, ...]) -> list[C]:
    return [row[i] for i in which]


def _shortened(urls: list[str], room: int) -> tuple[list[str], list[str]]:
    """URLs cut to `room` cells with a footnote mark, and the footnotes giving them in full."""
    shown: list[str] = []
    footnotes: list[str] = []
    for url in urls:
        if display_width(url) <= room:
            shown.append(url)
            continue
        mark = f"[{len(footnotes) + 1}]"
        shown.append(shorten(url, room - len(mark)).rstrip(ELLIPSIS) + ELLIPSIS + mark)
        footnotes.append(f"{mark} {url}")
    return shown, footnotes


def _covered(report: Report, context: ReportContext) -> str:
    """` (10s of it covered)`: how much of the report's window has data, short of the whole: the part since
    `data_since` less the monitor's stalls in it."""
    end, span = report.timestamp, report.span
    begin = end - span if context.data_since is None else max(end - span, context.data_since)
    if begin > end:
        return ""
    seconds = end - begin - sum(max(0.0, min(stall.end, end) - max(stall.start, begin)) for stall in context.stalls)
    return f" ({format_duration(seconds)} of it covered)" if seconds < span else ""


def _staleness(now: float, context: ReportContext) -> str:
    silent = context.stored.silent_for(now)
    if silent is None or context.stale_after is None or silent <= context.stale_after:
        return ""
    return f"no probe stored for {format_duration(silent)}: is the monitor running?"


def transition_line(transition: AlertTransition, seen: float | None = None) -> str:
    """The seed's messages: `Website {URL} is down. ...` / `Website {URL} recovered. ...`, with probers in several
    locations what one location sees and which locations have gone silent; with `seen` (when it was printed) a
    second or more after the check it was judged at, that time too."""
    availability = transition_percent(transition)
    time = iso_utc(transition.timestamp)
    late = ""
    if seen is not None and seen - transition.timestamp >= _SEEN_LATE:
        late = f" (seen {iso_utc(seen)}, {format_duration(seen - transition.timestamp)} after the check)"
    kind, host, location = transition.kind, transition.host, transition.location
    duration = format_duration(transition.timestamp - transition.start)
    since = iso_utc(transition.start)
    why = f", reason: {transition.detail}" if transition.detail else ""
    if kind is TransitionKind.ALERT:
        return f"Website {host} is down. availability={availability}, time={time}{why}{late}"
    if kind is TransitionKind.CERTIFICATE:
        return (f"Website {host} certificate {expiry_text(transition.start, transition.timestamp)} "
                f"({since}){late}")
    if kind is TransitionKind.RECOVERY:
        return (f"Website {host} recovered. availability={availability}, time={time}, "
                f"down since {since} ({duration}){late}")
    if kind is TransitionKind.LOCATION_ALERT:
        return (f"Website {host} is down from location {location}. availability={availability}, time={time}"
                f"{why}{late}")
    if kind is TransitionKind.LOCATION_RECOVERY:
        return (f"Website {host} recovered from location {location}. availability={availability}, time={time}, "
                f"down since {since} ({duration}){late}")
    if kind is TransitionKind.SILENT:
        return f"Website {host}: location {location} silent since {since}{late}"
    return f"Website {host}: location {location} heard again at {time}, silent since {since} ({duration}){late}"


def stall_line(stall: Stall) -> str:
    """`no check made from ... to ... (1m30s): the monitor did not run (...)`, as it runs again."""
    length = format_duration(stall.end - stall.start)
    return (f"no check made from {iso_utc(stall.start)} to {iso_utc(stall.end)} ({length}): the monitor did not "
            "run (stopped, its VM paused or its host starved); the checks due meanwhile are skipped, not made up")


def clock_ahead_line(warning: ClockAhead) -> str:
    """`location eu's clock is 120 s ahead of the NATS server's: ...`; rounded up, so that it never shows the limit
    it is beyond (the probe was taken, and travelled, before it arrived: the clock is further ahead, if anything)."""
    return (f"location {warning.location}'s clock is {math.ceil(warning.ahead)} s ahead of the NATS server's: its "
            "probes can be missed by reads by time; keep its clock on NTP")


class Console:
    """Writes lines to `stream` from any thread, whole lines at a time.

    When the reader of the stream goes away (`monitoringApp -m | head`), the console
    closes: later writes are dropped and `on_closed` is called once, so its owner can
    stop as a Unix filter would, instead of the writing thread dying on a BrokenPipeError.
    """

    def __init__(self, stream: TextIO | None = None, colour: bool | None = None,
                 on_closed: Callable[[], None] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdout
        self._terminal = self.stream.isatty()
        self.colour = (self._terminal and not os.environ.get("NO_COLOR")) if colour is None else colour
        self.report_context = ReportContext()
        self.on_closed = on_closed
        self.closed = False
        self._lock = threading.Lock()

    def write(self, lines: list[str]) -> None:
        with self._lock:
            if self.closed:
                return
            if self._terminal:
                clear_shown()  # a progress bar drawn on the terminal: this line starts on a clean one
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

    def width(self) -> int | None:
        """The width reports fit: `COLUMNS` when set, else the terminal's; None when piped (a log keeps all)."""
        columns = os.environ.get("COLUMNS", "")
        if columns.isdecimal() and int(columns) > 0:  # what int() reads ("²" is a digit, not decimal)
            return int(columns)
        try:
            return os.get_terminal_size(self.stream.fileno()).columns if self.stream.isatty() else None
        except (OSError, ValueError, io.UnsupportedOperation):
            return None

    def show_report(self, report: Report) -> None:
        lines = report_lines(report, self.width(), self.report_context)
        self.write([self.paint(lines[0], _BOLD), *lines[1:], ""])

    def paint_transition(self, text: str, transition: AlertTransition) -> str:
        """`text` in the colour of `transition`: red for an alert, yellow for a certificate warning, green else."""
        colour = {TransitionKind.ALERT: _RED, TransitionKind.CERTIFICATE: _YELLOW}.get(transition.kind, _GREEN)
        return self.paint(text, colour)

    def show_transition(self, transition: AlertTransition, seen: float | None = None) -> None:
        self.write([self.paint_transition(transition_line(transition, seen), transition)])

    def info(self, text: str) -> None:
        self.write([text])

    def show_stall(self, stall: Stall) -> None:
        """Says the monitor did not run, and leaves the time out of the reports' coverage from now on."""
        self.report_context.stalls.append(stall)
        self.write([self.paint(stall_line(stall), _YELLOW)])

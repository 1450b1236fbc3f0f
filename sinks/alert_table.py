"""Alert transitions on the console as one table: batches of stored alerts and recoveries in, aligned lines out.

The first batch (the history) is printed with the header; each later row is one
line in the same columns, as wide as the widest cell seen so far. On a terminal
too narrow for a row (or `COLUMNS`), each row takes two lines: what happened
(time, host, type, availability), then the outage (start, end, duration) and the detail. A certificate warning's
start is the certificate's notAfter, its end when the warning fell due (notAfter less the warning's days), and
it has no duration; its detail says how long the certificate had left.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.domain.timefmt import format_duration, iso_utc
from monitoringapp.sinks.console import Console, transition_percent
from monitoringapp.sinks.table import format_table, table_width

ALERT_HEADER = ("time", "host", "type", "start", "end", "duration", "availability", "detail")
# The widths every row has anyway, so that rows after an empty history line up with the header too.
_TYPICAL = (iso_utc(0), "host", TransitionKind.RECOVERY.value, iso_utc(0), iso_utc(0), "duration", "availability",
            "detail")
_RIGHT = (False, False, False, False, False, True, True, False)
# The two-line layout: what happened, then (indented) the outage it belongs to.
_WHAT = (0, 1, 2, 6)
_OUTAGE = (3, 4, 5, 7)
_INDENT = "  "


# A row repeats its times (an alert starts when it is raised, a recovery ends when it is made and starts
# at its alert's time): remembering the last few halves the formatting of a long history.
_iso = lru_cache(maxsize=1024)(iso_utc)


def alert_cells(transition: AlertTransition) -> list[str]:
    end = transition.end
    # A certificate warning's end (when it fell due) is before its start (the notAfter): no outage to time.
    lasted = None if end is None or transition.kind is TransitionKind.CERTIFICATE else end - transition.start
    return [_iso(transition.timestamp), transition.host, transition.kind.value, _iso(transition.start),
            "-" if end is None else _iso(end),
            "-" if lasted is None else format_duration(lasted),
            transition_percent(transition), transition.detail or "-"]


class AlertLog:
    """Prints the history of alerts and recoveries, then each new one, to `console`; `empty` is the line
    for an empty history (it says what was asked for: a site, a start)."""

    def __init__(self, console: Console, following: str,
                 empty: str = "(no alerts or recoveries yet)") -> None:
        self.console = console
        self.following = following
        self.empty = empty
        self._widest = list(_TYPICAL)  # the widest cell of each column so far
        self._started = False

    def show(self, batch: Sequence[AlertTransition]) -> None:
        cells = [alert_cells(transition) for transition in batch]
        self._widest = [max([widest, *(row[i] for row in cells)], key=len) for i, widest in enumerate(self._widest)]
        header, rows = self._layout(cells, range(len(ALERT_HEADER)))
        width = self.console.width()
        if width is not None and table_width(header) > width:
            what, what_rows = self._layout(cells, _WHAT)
            outage, outage_rows = self._layout(cells, _OUTAGE, indent=_INDENT)
            header = [*what, *outage]
            rows = [[*first, *second] for first, second in zip(what_rows, outage_rows, strict=True)]
        painted = [self.console.paint_transition(line, transition)
                   for transition, lines in zip(batch, rows, strict=True) for line in lines]
        if not self._started:
            self._started = True
            empty = [] if batch else [self.empty]
            self.console.write([*header, *painted, *empty, self.following])
        elif painted:
            self.console.write(painted)

    def _layout(self, cells: list[list[str]], columns: Sequence[int],
                indent: str = "") -> tuple[list[str], list[list[str]]]:
        """The header line and each row's line of `columns`, as wide as the widest cells seen so far (the
        widest row is laid out with the others and dropped)."""
        header, _, *lines = format_table([ALERT_HEADER[i] for i in columns],
                                         [[row[i] for i in columns] for row in [self._widest, *cells]],
                                         [_RIGHT[i] for i in columns], indent=indent)
        return [header], [[line] for line in lines]

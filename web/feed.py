"""The board kept up to date from the log: a reader with two cursors, polled (no reactivex here).

The first poll seeds the board (`seed_board`); each poll after that adds what was appended after the
cursors. The probe cursor is the one the rollups were read with, so every stored probe is counted in the
daily and 15-minute figures exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitoringapp.domain.events import AlertTransition, LastOutcomes, Probe
from monitoringapp.operators.rollup import DAY, Rollup, bucket_start
from monitoringapp.store.log import Cursor, HistoryReader, Page
from monitoringapp.streams.log_tail import LogTail
from monitoringapp.web.board import HISTORY_DAYS, SPARK_SPAN, SPARK_STEP, StatusBoard

RECENT = 3600.0  # the probes that fill the availability windows of /metrics (2m, 10m, 1h)
RECHECK_EVERY = 5.0  # seconds: every site is touched this often, as a site turns No data with no probe to tell it
_SNAPSHOT_TRIES = 3


@dataclass(frozen=True, slots=True)
class FeedNews:
    """What one poll changed: the sites touched (every site now and then: see RECHECK_EVERY), or why the log
    cannot be read (yet, or again: said at every poll while it lasts once the board is seeded, e.g. a database
    deleted under the reader)."""

    touched: frozenset[str] = frozenset()
    waiting: str | None = None
    seeded: bool = False


class BoardFeed:
    """Follows `log` into `board`; `poll` from one thread at a time. `clock()` is the time now (seconds)."""

    def __init__(self, log: HistoryReader, board: StatusBoard, now: float) -> None:
        self.log = log
        self.board = board
        self._seed_at = now
        self._rechecked = now
        self._pending: tuple[Sequence[Rollup], Sequence[Rollup], Sequence[Probe], Sequence[LastOutcomes]] | None = (
            None)
        self.probes: LogTail[Probe] = LogTail(self._seed, log.probes_after)
        self.transitions: LogTail[AlertTransition] = LogTail(
            lambda: self._transitions_seed(now - HISTORY_DAYS * DAY), log.transitions_after)

    def _transitions_seed(self, since: float) -> Page[AlertTransition]:
        """The alerts and recoveries of the days shown, after each site's alert state from before them: an alert
        raised before the 90 days and still open is still the site's state."""
        shown = self.log.transitions_since(since)
        older = sorted((t for t in self.log.last_transitions().values() if t.timestamp < since),
                       key=lambda transition: transition.timestamp)
        return Page([*older, *shown.events], shown.cursor) if older else shown

    def _seed(self) -> Page[Probe]:
        now = self._seed_at
        first_day = bucket_start(now, DAY) - (HISTORY_DAYS - 1) * DAY
        first_point = bucket_start(now, SPARK_STEP) - SPARK_SPAN + SPARK_STEP
        # Two reads, each one snapshot: tried again until both saw the same probes, so none is counted twice.
        for _ in range(_SNAPSHOT_TRIES):
            days = self.log.rollups(first_day, now + DAY, DAY)
            spark = self.log.rollups(first_point, now + DAY, SPARK_STEP)
            if days.cursor == spark.cursor:
                break
        recent = self.log.probes_since(now - RECENT)
        # What came before the last hour: a site down for longer is down since its run began, not since an hour.
        before = tuple(self.log.last_outcomes(now - RECENT).values())
        self._pending = (days.events, spark.events, recent.events, before)
        return Page(recent.events, spark.cursor)

    def poll(self, now: float) -> FeedNews:
        """Add what is new in the log; the first polls seed the board (probes' history, then transitions')."""
        self._seed_at = now
        if not self.board.seeded:
            if self._pending is None:
                probes = self.probes.poll()
                if probes is None or probes.waiting is not None:
                    return FeedNews(waiting=probes.waiting if probes is not None else None)
            history = self.transitions.poll()
            if history is None or history.waiting is not None:
                return FeedNews(waiting=history.waiting if history is not None else None)
            assert self._pending is not None
            days, spark, recent, before = self._pending
            self.board.seed(days, spark, recent, history.events, before)
            self._pending = None
            self._rechecked = now
            return FeedNews(seeded=True)
        touched: set[str] = set()
        transitions = self.transitions.poll()
        if transitions is not None:
            touched |= self.board.add_transitions(transitions.events)
        probes = self.probes.poll()
        if probes is not None:
            touched |= self.board.add_probes(probes.events)
        if now - self._rechecked >= RECHECK_EVERY:
            self._rechecked = now
            touched |= {spec.id for spec in self.board.shown_sites().values()}
        return FeedNews(frozenset(touched), waiting=self.probes.unavailable or self.transitions.unavailable or None)

    @property
    def cursor(self) -> Cursor | None:
        return self.probes.cursor

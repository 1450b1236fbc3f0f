"""The board kept up to date from the log: a reader with two cursors, polled (no reactivex here).

The first poll seeds the board (`seed_board`); each poll after that adds what was appended after the
cursors. The probe cursor is the one the rollups were read with, so every stored probe is counted in the
daily and 15-minute figures exactly once. A new list of sites (`show`: a reloaded config) is applied at the next
poll, each site it adds seeded from the log by the same reads as the first seed, of its hosts only.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from monitoringapp.domain.events import AlertTransition, LastOutcomes, Probe
from monitoringapp.operators.rollup import DAY, Rollup, bucket_start
from monitoringapp.store.log import Cursor, HistoryReader, LogUnavailable, Page
from monitoringapp.streams.log_tail import LogTail
from monitoringapp.web.board import HISTORY_DAYS, SPARK_SPAN, SPARK_STEP, SiteListChange, SiteSpec, StatusBoard

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
    reshaped: SiteListChange | None = None  # a new list of sites applied by this poll (see `BoardFeed.show`)


@dataclass(frozen=True, slots=True)
class _Past:
    """What a seed reads of the sites' probes: daily and 15-minute rollups, the last hour's probes and each
    site's outcomes from before it; `cursor` is the probe feed's end the rollups were read at."""

    days: Sequence[Rollup]
    spark: Sequence[Rollup]
    recent: Sequence[Probe]
    before: Sequence[LastOutcomes]
    cursor: Cursor


class BoardFeed:
    """Follows `log` into `board`; `poll` from one thread at a time. `clock()` is the time now (seconds)."""

    def __init__(self, log: HistoryReader, board: StatusBoard, now: float) -> None:
        self.log = log
        self.board = board
        self._seed_at = now
        self._rechecked = now
        self._pending: _Past | None = None
        self._next_sites: tuple[SiteSpec, ...] | None = None  # a list given to `show`, not applied yet
        self._next_sites_lock = threading.Lock()
        self.probes: LogTail[Probe] = LogTail(self._seed, log.probes_after)
        self.transitions: LogTail[AlertTransition] = LogTail(
            lambda: self._transitions_seed(now - HISTORY_DAYS * DAY), log.transitions_after)

    def show(self, sites: Sequence[SiteSpec]) -> None:
        """Show `sites` from the next poll on (a reloaded config's list; a later call before that poll wins). Any
        thread: the poll applies it on its own."""
        with self._next_sites_lock:
            self._next_sites = tuple(sites)

    def _take_next_sites(self) -> tuple[SiteSpec, ...] | None:
        with self._next_sites_lock:
            sites, self._next_sites = self._next_sites, None
        return sites

    def _keep_next_sites(self, sites: tuple[SiteSpec, ...]) -> None:
        """`sites` not applied (the log could not be read): tried again at the next poll, unless a newer list came."""
        with self._next_sites_lock:
            if self._next_sites is None:
                self._next_sites = sites

    def _transitions_seed(self, since: float, hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        """The alerts and recoveries of the days shown (of `hosts` only, when given), after each site's alert state
        from before them: an alert raised before the 90 days and still open is still the site's state."""
        shown = self.log.transitions_since(since, hosts)
        older = sorted((t for t in self.log.last_transitions(hosts).values() if t.timestamp < since),
                       key=lambda transition: transition.timestamp)
        return Page([*older, *shown.events], shown.cursor) if older else shown

    def _past(self, now: float, hosts: Collection[str] | None = None) -> _Past:
        """The probes' past a seed reads, of every site or of `hosts` only."""
        first_day = bucket_start(now, DAY) - (HISTORY_DAYS - 1) * DAY
        first_point = bucket_start(now, SPARK_STEP) - SPARK_SPAN + SPARK_STEP
        # Two reads, each one snapshot: tried again until both saw the same probes, so none is counted twice.
        for _ in range(_SNAPSHOT_TRIES):
            days = self.log.rollups(first_day, now + DAY, DAY, hosts)
            spark = self.log.rollups(first_point, now + DAY, SPARK_STEP, hosts)
            if days.cursor == spark.cursor:
                break
        recent = self.log.probes_since(now - RECENT, hosts)
        # What came before the last hour: a site down for longer is down since its run began, not since an hour.
        before = tuple(self.log.last_outcomes(now - RECENT, hosts).values())
        return _Past(days.events, spark.events, recent.events, before, spark.cursor)

    def _seed(self) -> Page[Probe]:
        self._pending = past = self._past(self._seed_at)
        return Page(past.recent, past.cursor)

    def poll(self, now: float) -> FeedNews:
        """Add what is new in the log; the first polls seed the board (probes' history, then transitions'); a list
        given to `show` is applied."""
        self._seed_at = now
        if not self.board.seeded:
            sites = self._take_next_sites()
            # Not seeded yet: the seed reads every site's past, the added ones' with the rest.
            reshaped = self.board.reshape(sites) if sites is not None else None
            return replace(self._seed_poll(now), reshaped=reshaped)
        touched: set[str] = set()
        transitions = self.transitions.poll()
        if transitions is not None:
            touched |= self.board.add_transitions(transitions.events)
        touched |= self._follow_probes()
        reshaped = None
        if (sites := self._take_next_sites()) is not None:
            try:
                reshaped = self._reshape(sites, now, touched)
            except LogUnavailable:
                self._keep_next_sites(sites)
        if now - self._rechecked >= RECHECK_EVERY or reshaped is not None:
            self._rechecked = now
            touched |= {spec.id for spec in self.board.shown_sites().values()}
        return FeedNews(frozenset(touched), waiting=self.probes.unavailable or self.transitions.unavailable or None,
                        reshaped=reshaped)

    def _seed_poll(self, now: float) -> FeedNews:
        if self._pending is None:
            probes = self.probes.poll()
            if probes is None or probes.waiting is not None:
                return FeedNews(waiting=probes.waiting if probes is not None else None)
        history = self.transitions.poll()
        if history is None or history.waiting is not None:
            return FeedNews(waiting=history.waiting if history is not None else None)
        assert self._pending is not None
        past = self._pending
        self.board.seed(past.days, past.spark, past.recent, history.events, past.before)
        self._pending = None
        self._rechecked = now
        return FeedNews(seeded=True)

    def _follow_probes(self) -> set[str]:
        """The probes stored after the cursor added to the board; the ids of the sites they touched."""
        probes = self.probes.poll()
        return self.board.add_probes(probes.events) if probes is not None else set()

    def _reshape(self, sites: tuple[SiteSpec, ...], now: float, touched: set[str]) -> SiteListChange:
        """`sites` shown from now on, each one added seeded with its past as the first seed reads it; LogUnavailable
        (the board left as it was) while the log cannot be read. Ids of sites given probes meanwhile go to
        `touched`."""
        shown = self.board.shown_sites()
        added = [spec.host for spec in sites if spec.host not in shown]
        past = None
        history: Sequence[AlertTransition] = ()
        if added:
            for attempt in range(_SNAPSHOT_TRIES):
                past = self._past(now, added)
                # The added sites' rollups count every probe up to their cursor, the feed's next read every probe
                # after its own: where the two differ (a batch committed between them), the feed reads on to the
                # rollups' place and they are read again, so that no probe is counted twice. After the last try
                # a batch's probes of the added sites may be (as the first seed's two reads may miss one).
                if _same_place(past.cursor, self.probes.cursor) or attempt == _SNAPSHOT_TRIES - 1:
                    break
                touched |= self._follow_probes()
            # Read after the transitions' cursor: one appended since is also read by the next poll, and adding a
            # transition twice changes nothing (an outage is keyed by its start; the alert state is the last read, and
            # the next poll reads again in the log's order those after its cursor).
            history = self._transitions_seed(now - HISTORY_DAYS * DAY, added).events
        reshaped = self.board.reshape(sites)
        if past is not None:
            self.board.seed(past.days, past.spark, past.recent, history, past.before)
        return reshaped

    @property
    def cursor(self) -> Cursor | None:
        return self.probes.cursor


def _same_place(cursor: Cursor, other: Cursor | None) -> bool:
    """Whether two cursors of the probe feed are at the same event (their times may be stamped apart)."""
    return other is not None and (cursor.log, cursor.position) == (other.log, other.position)

"""Each site's last success, last failure and failing run up to a moment, read from SQLite in a few look-ups.

The last few probes of every site, read in one walk of the time index back from the moment and folded
(`OutcomeFold`), settle the last success of every site up then, and its failures since (with 1,000 sites, one
look-up per site would each read the probes of every site between its probe and the moment). What they leave open
is looked up per site, all sites together (`SitesOutcomes`). The probe table has a time index only (no per-site
index to keep on the hot path), so "the newest failure of this site" is found through the rollups, whose primary
key is (host, start): the newest hour with a failure, then the newest minute with one in that hour, then that
minute's probes on the time index, a walk of every site's probes in it, shared by all the sites that need that
minute (a log longer than the hour, 1,000 sites failing now and then: 954 walks of about 9 ms became 8 shared
ones). A site that never failed costs a walk of its hour rows (400 days of them at most), not of its probes. Where
the minute rollups are gone (after 14 days), the hour's probes are read. Where retention has purged the probes, the
answer is the bucket's end (a newest) or start (an oldest): a last success known only to the minute or hour is
taken at its end, so the failing run after it starts at the first failure of a later bucket ("down for" at least
that long).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Generator, Iterable
from dataclasses import dataclass

from monitoringapp.domain.events import LastOutcomes
from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.operators.rollup import HOUR, MINUTE
from monitoringapp.store.outcome_fold import OutcomeFold
from monitoringapp.store.sqlite.schema import HOUR_TABLE, MINUTE_TABLE, PROBE_TABLE, fast_parse_iso

RECENT_ROUNDS = 4
"""Probes per site (as a count of rows) folded in one walk before any per-site look-up."""

_ROLLUP_HAS = {True: "available > 0", False: "available < checks"}
_PROBE_IS = {True: "available != 0", False: "available = 0"}
_CANDIDATES = 3  # buckets tried at each level: only those holding a bound can come up empty


def site_hosts(connection: sqlite3.Connection) -> list[str]:
    """Every site with an hour rollup."""
    return [str(row[0]) for row in connection.execute(f"SELECT DISTINCT host FROM {HOUR_TABLE}")]


def recent_outcomes(connection: sqlite3.Connection, hosts: Collection[str], before: float) -> OutcomeFold:
    """The last `RECENT_ROUNDS` probes per site up to `before` (by count: as many rows as that, newest first,
    whatever the sites), folded: one walk of the time index that settles most sites' last success at once."""
    fold = OutcomeFold(before, hosts)
    rows = connection.execute(
        f"SELECT host, timestamp, available FROM {PROBE_TABLE} WHERE timestamp <= ? ORDER BY timestamp DESC "
        "LIMIT ?", (iso_utc(before), RECENT_ROUNDS * len(hosts))).fetchall()
    fold.add_older((host, fast_parse_iso(timestamp), bool(up)) for host, timestamp, up in rows)
    return fold


@dataclass(frozen=True, slots=True)
class ProbeLookup:
    """A question only the probes answer: the time of `host`'s newest (else oldest) probe in (`low`, `high`] (from
    `low` itself when `inclusive_low`) that was `up` (or down); the range lies in the rollup bucket of `span`
    seconds from `start` (at most its end's instant beyond)."""

    host: str
    up: bool
    low: float
    high: float
    newest: bool
    inclusive_low: bool
    start: float
    span: float


SiteSteps = Generator[ProbeLookup, float | None, LastOutcomes | None]
"""One site's `last_outcomes`: each probe look-up it needs is yielded and answered with `send`."""


class SitesOutcomes:
    """Every site's last success, last failure and failing run up to `before`, looked up together in rounds: a
    round takes each site through the rollups as far as its next probe look-up, then answers all those
    look-ups, the look-ups of one bucket in one walk of it (`answer_lookups`). A site down or up for days still
    costs its own walk of its minute; the sites whose look-ups share a minute (the minute of `before`, the
    minutes of their last few failures when they fail now and then) share one walk of it, where one walk a site
    had each read that minute of every site's probes.

    Example: ``sites = SitesOutcomes(hosts, before, recent)``, then ``sites.round(connection)`` until
    ``sites.done``: ``sites.found``."""

    def __init__(self, hosts: Collection[str], before: float, recent: dict[str, LastOutcomes]) -> None:
        self._connection: sqlite3.Connection | None = None
        self._hosts = sorted(hosts)
        self._steps = {host: _site_steps(self.connection, host, before, recent.get(host)) for host in self._hosts}
        self._answers: dict[str, float | None] = {}
        self._found: dict[str, LastOutcomes] = {}

    @property
    def done(self) -> bool:
        return not self._steps

    @property
    def found(self) -> dict[str, LastOutcomes]:
        """Each site's outcomes, in site order (none for a site with no probe up to `before`)."""
        return {host: self._found[host] for host in self._hosts if host in self._found}

    def connection(self) -> sqlite3.Connection:
        """The connection of the round under way."""
        assert self._connection is not None, "read outside a round"
        return self._connection

    def round(self, connection: sqlite3.Connection) -> None:
        """One round on `connection` (one snapshot: a round of 1,000 sites is a few tenths of a second)."""
        self._connection = connection
        try:
            asked: list[ProbeLookup] = []
            for host, steps in list(self._steps.items()):
                try:
                    asked.append(steps.send(self._answers.get(host)))
                except StopIteration as finished:
                    del self._steps[host]
                    if finished.value is not None:
                        self._found[host] = finished.value
            self._answers = answer_lookups(connection, asked)
        finally:
            self._connection = None


def _site_steps(connection: Callable[[], sqlite3.Connection], host: str, before: float,
                recent: LastOutcomes | None) -> SiteSteps:
    """`host`'s last success and last failure with timestamp <= `before` and the first failure after that
    success (None: no probe up to `before`); `recent` is what the last probes folded say of it (exact
    as far as they reach: only what they leave open is looked up)."""
    if recent is not None and recent.last_success is not None:
        if recent.last_failure is not None:
            return recent  # the success and everything after it were read
        # Up at the end of what was read, no failure among it: the last failure is older than the success.
        failure = yield from _find(connection, host, False, None, recent.last_success, newest=True)
        return LastOutcomes(host, recent.last_success, failure, None)
    success = yield from _find(connection, host, True, None, before, newest=True)
    failure = yield from _find(connection, host, False, None, before, newest=True)
    if success is None and failure is None:
        return None
    failing_since = None
    if failure is not None and (success is None or failure > success):
        failing_since = yield from _find(connection, host, False, success, before, newest=False)
    return LastOutcomes(host, success, failure, failing_since)


def _find(connection: Callable[[], sqlite3.Connection], host: str, up: bool, after: float | None, before: float, *,
          newest: bool) -> Generator[ProbeLookup, float | None, float | None]:
    """The time of `host`'s newest (else oldest) probe with `after` < timestamp <= `before` that was `up` (or
    down), narrowed hour, then minute, then probes (each probe look-up yielded, its answer sent back)."""
    low = float("-inf") if after is None else after
    for hour in _buckets(connection(), HOUR_TABLE, host, up, low, before, newest, HOUR):
        minutes = _buckets(connection(), MINUTE_TABLE, host, up, max(low, hour), min(before, hour + HOUR - 1e-3),
                           newest, MINUTE)
        for start, span in [(minute, MINUTE) for minute in minutes] or [(hour, HOUR)]:
            found = yield ProbeLookup(host, up, max(low, start), min(before, start + span), newest,
                                      after is None or start > low, start, span)
            if found is not None:
                return found
            if low <= start and start + span <= before:  # wholly inside the range: its probes were purged
                return start + span if newest else start
    return None


def _buckets(connection: sqlite3.Connection, table: str, host: str, up: bool, low: float, high: float,
             newest: bool, span: float) -> list[float]:
    """The starts of the first few buckets of `table` (newest or oldest first) that may hold a probe of `host`
    with `low` < timestamp <= `high` that was `up` (or down)."""
    first = float("-inf") if low == float("-inf") else low - low % span
    rows = connection.execute(
        f"SELECT start FROM {table} WHERE host = ? AND start >= ? AND start <= ? AND {_ROLLUP_HAS[up]} "
        f"ORDER BY start {'DESC' if newest else 'ASC'} LIMIT {_CANDIDATES}",
        (host, first if first > float("-inf") else -(2**62), high)).fetchall()
    return [float(row[0]) for row in rows]


def answer_lookups(connection: sqlite3.Connection, lookups: Iterable[ProbeLookup]) -> dict[str, float | None]:
    """Each look-up's answer by its site (one look-up a site): a bucket asked of by one site is walked on the time
    index from the end wanted until that site's probe (`_probe`); a bucket asked of by several is walked once,
    whole, for all of them (`_walk`): a walk of a minute reads every site's probes in it either way. Look-ups
    for successes and for failures walk it apart, each reading only the probes it wants out of SQLite (at 1,000
    sites 1 in 30 for failures: a walk 23-60 ms against 200-1,200 ms for every probe of the minute)."""
    buckets: dict[tuple[float, float, bool], list[ProbeLookup]] = {}
    for lookup in lookups:
        buckets.setdefault((lookup.start, lookup.span, lookup.up), []).append(lookup)
    answers: dict[str, float | None] = {}
    for asked in buckets.values():
        answers.update(_walk(connection, asked) if len(asked) > 1 else {asked[0].host: _probe(connection, asked[0])})
    return answers


def _walk(connection: sqlite3.Connection, lookups: list[ProbeLookup]) -> dict[str, float | None]:
    """The look-ups of one bucket, all for successes or all for failures (one a site), answered in one walk of
    the probes their ranges span, compared as `_probe`'s SQL compares them: as the stored text."""
    wanted = {lookup.host: (lookup, iso_utc(lookup.low), iso_utc(lookup.high)) for lookup in lookups}
    best: dict[str, str] = {}
    rows = connection.execute(
        f"SELECT host, timestamp FROM {PROBE_TABLE} WHERE timestamp >= ? AND timestamp <= ? "
        f"AND {_PROBE_IS[lookups[0].up]}",
        (min(low for _, low, _ in wanted.values()), max(high for _, _, high in wanted.values())))
    for host, stamp in rows:
        asked = wanted.get(host)
        if asked is None:
            continue
        lookup, low, high = asked
        if stamp > high or stamp < low or (stamp == low and not lookup.inclusive_low):
            continue
        held = best.get(host)
        if held is None or (stamp > held if lookup.newest else stamp < held):
            best[host] = stamp
    return {host: parse_iso(best[host]) if host in best else None for host in wanted}


def _probe(connection: sqlite3.Connection, lookup: ProbeLookup) -> float | None:
    """The answer to `lookup`, on the time index."""
    # Walked from the end wanted, on the time index: it stops at the site's first such probe (a `max` would read
    # the whole range, every site's probes in it).
    row = connection.execute(
        f"SELECT timestamp FROM {PROBE_TABLE} "
        f"WHERE timestamp {'>=' if lookup.inclusive_low else '>'} ? AND timestamp <= ? AND host = ? "
        f"AND {_PROBE_IS[lookup.up]} ORDER BY timestamp {'DESC' if lookup.newest else 'ASC'} LIMIT 1",
        (iso_utc(lookup.low), iso_utc(lookup.high), lookup.host)).fetchone()
    return None if row is None else parse_iso(row[0])

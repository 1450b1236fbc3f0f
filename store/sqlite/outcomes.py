"""Each site's last success, last failure and failing run up to a moment, read from SQLite in a few look-ups.

The last few probes of every site, read in one walk of the time index back from the moment and folded
(`OutcomeFold`), settle the last success of every site up then, and its failures since (with 1,000 sites, one
look-up per site would each read the probes of every site between its probe and the moment). What they leave
open is looked up per site. The probe table has a time index only (no per-site index to keep on the hot
path), so "the newest failure of this site" is found through the rollups, whose primary key is (host, start):
the newest hour with a failure, then the newest minute with one in that hour, then that minute's probes on
the time index. A site that never failed costs a walk of its hour rows (400 days of them at most), not of its
probes. Where the minute rollups are gone (after 14 days), the hour's probes are read. Where retention has
purged the probes, the answer is the bucket's end (a newest) or start (an oldest): a last success known only
to the minute or hour is taken at its end, so the failing run after it starts at the first failure of a later
bucket ("down for" at least that long).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection

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


def last_outcomes(connection: sqlite3.Connection, host: str, before: float,
                  recent: LastOutcomes | None = None) -> LastOutcomes | None:
    """`host`'s last success and last failure with timestamp <= `before` and the first failure after that
    success (None: no probe up to `before`); `recent` is what the last probes folded say of it (exact
    as far as they reach: only what they leave open is looked up)."""
    if recent is not None and recent.last_success is not None:
        if recent.last_failure is not None:
            return recent  # the success and everything after it were read
        # Up at the end of what was read, no failure among it: the last failure is older than the success.
        return LastOutcomes(host, recent.last_success,
                            _find(connection, host, False, None, recent.last_success, newest=True), None)
    success = _find(connection, host, True, None, before, newest=True)
    failure = _find(connection, host, False, None, before, newest=True)
    if success is None and failure is None:
        return None
    failing_since = None
    if failure is not None and (success is None or failure > success):
        failing_since = _find(connection, host, False, success, before, newest=False)
    return LastOutcomes(host, success, failure, failing_since)


def _find(connection: sqlite3.Connection, host: str, up: bool, after: float | None, before: float, *,
          newest: bool) -> float | None:
    """The time of `host`'s newest (else oldest) probe with `after` < timestamp <= `before` that was `up` (or
    down), narrowed hour, then minute, then probes."""
    low = float("-inf") if after is None else after
    for hour in _buckets(connection, HOUR_TABLE, host, up, low, before, newest, HOUR):
        minutes = _buckets(connection, MINUTE_TABLE, host, up, max(low, hour), min(before, hour + HOUR - 1e-3),
                           newest, MINUTE)
        for start, span in [(minute, MINUTE) for minute in minutes] or [(hour, HOUR)]:
            found = _probe(connection, host, up, max(low, start), min(before, start + span), newest,
                           inclusive_low=after is None or start > low)
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


def _probe(connection: sqlite3.Connection, host: str, up: bool, low: float, high: float, newest: bool, *,
           inclusive_low: bool) -> float | None:
    """The newest (else oldest) probe time of `host` in (`low`, `high`] (from `low` itself when
    `inclusive_low`: a bucket's start) that was `up` (or down), on the time index."""
    # Walked from the end wanted, on the time index: it stops at the site's first such probe (a `max` would read
    # the whole range, every site's probes in it).
    row = connection.execute(
        f"SELECT timestamp FROM {PROBE_TABLE} "
        f"WHERE timestamp {'>=' if inclusive_low else '>'} ? AND timestamp <= ? AND host = ? AND {_PROBE_IS[up]} "
        f"ORDER BY timestamp {'DESC' if newest else 'ASC'} LIMIT 1", (iso_utc(low), iso_utc(high), host)).fetchone()
    return None if row is None else parse_iso(row[0])

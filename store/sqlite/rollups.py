"""Rollups in SQLite: a projection of `website_monitoring` per site per minute and per hour.

The writer adds each batch of probes to both tables in the transaction that appends the probes, so a reader
that sees a probe row also sees it counted; missing rollups (a file from before schema 3) are rebuilt from
the raw probes; `retention` purges raw probes while the rollups stay. Minute rows are kept `MINUTE_KEEP`
(14 days), hour rows the config's `rollupRetention` (400 days by default).

    website_rollups_minute / website_rollups_hour (WITHOUT ROWID, primary key (host, start))
      host TEXT, start INTEGER (UTC epoch seconds of the bucket's start), checks, available,
      rtCount, rtSum, rtMin, rtMax (ms over the probes that got a response), sketch BLOB
      (operators.rollup.ResponseSketch), outcomes TEXT (`200:58 503:2 timeout:1`)
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterable

from monitoringapp.domain.events import Probe
from monitoringapp.operators.rollup import (
    HOUR,
    MINUTE,
    ResponseSketch,
    Rollup,
    decode_outcomes,
    encode_outcomes,
    merged,
)
from monitoringapp.store.sqlite.schema import (
    HOUR_TABLE,
    META_TABLE,
    MINUTE_TABLE,
    PROBE_TABLE,
    probe_from_row,
    select_columns,
    write_transaction,
)

ROLLUP_TABLES = {MINUTE: MINUTE_TABLE, HOUR: HOUR_TABLE}
MINUTE_KEEP = 14 * 86400.0
DEFAULT_HOUR_KEEP = 400 * 86400.0
REBUILD_CHUNK = 50_000
_REBUILDING = "rollupsRebuild"  # the key in the log's table of names while a rebuild is under way

_COLUMNS = "host, start, checks, available, rtCount, rtSum, rtMin, rtMax, sketch, outcomes"
RollupRow = tuple[str, int, int, int, int, float, float | None, float | None, bytes | None, str | None]


_REPLACES = {span: f"INSERT OR REPLACE INTO {table} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
             for span, table in ROLLUP_TABLES.items()}
SKETCH_EVERY = 60.0
"""An open hour's sketch and outcomes are encoded again at most this often (probe time); its counts and sums
are written with every batch. A closed bucket's row is exact."""
KEEP_OPEN = {MINUTE: 600.0, HOUR: 2 * HOUR}
"""How long after its end a bucket stays in memory for late probes (a probe lands up to its timeout late)."""
STEPPED_BACK = KEEP_OPEN[HOUR]
"""A probe this much before the newest one seen is no late probe but the wall clock stepped back (a monitor goes on
across a step: `streams.wall_clock`): the time the writer goes by steps back with it. Kept at the newest ever seen,
the probes of a step back of more than 14 days were older than the minute rows are kept, and not counted."""


class _Open:
    __slots__ = ("encoded", "encoded_at", "rollup")

    def __init__(self, rollup: Rollup) -> None:
        self.rollup = rollup
        self.encoded: tuple[bytes, str] | None = None
        self.encoded_at = float("-inf")


class OpenRollups:
    """The writer's buckets: every minute and hour touched lately, in memory, each written back whole with
    the batch that changed it (inside the caller's transaction). A bucket not in memory (a restart, a late
    probe) is read from its row first, so a row is only ever replaced by itself plus new probes."""

    def __init__(self) -> None:
        self._open: dict[tuple[float, str, float], _Open] = {}
        self._latest = float("-inf")
        # Open hours whose row has counts newer than its sketch and outcomes: each is written again when its
        # encoding falls due, touched or not (an hour that ended is touched by no probe until it closes, 2 hours on).
        self._behind: dict[tuple[float, str, float], _Open] = {}

    def add(self, connection: sqlite3.Connection, probes: Iterable[Probe]) -> None:
        touched: dict[tuple[float, str, float], _Open] = {}
        batch = list(probes)
        latest = self._latest
        for probe in batch:
            if probe.timestamp > latest or probe.timestamp < latest - STEPPED_BACK:
                latest = probe.timestamp
        self._latest = latest
        for probe in batch:
            timestamp = probe.timestamp
            for span in (MINUTE, HOUR):
                start = timestamp - timestamp % span
                if span == MINUTE and start < self._latest - MINUTE_KEEP:
                    continue  # retention would drop it at once
                key = (span, probe.host, start)
                bucket = self._open.get(key)
                if bucket is None:
                    bucket = self._open[key] = _Open(self._read(connection, span, probe.host, start))
                bucket.rollup.add(probe)
                touched[key] = bucket
        for key, bucket in list(self._behind.items()):
            if self._latest - bucket.encoded_at >= SKETCH_EVERY:
                touched[key] = bucket
        self._write(connection, touched, fresh=False)
        self._close_old(connection)

    def flush(self, connection: sqlite3.Connection) -> None:
        """Write every open bucket exactly (a stopping writer's last transaction)."""
        self._write(connection, self._open, fresh=True)
        self._open.clear()
        self._behind.clear()

    def _write(self, connection: sqlite3.Connection, buckets: dict[tuple[float, str, float], _Open],
               fresh: bool) -> None:
        rows: dict[float, list[RollupRow]] = {MINUTE: [], HOUR: []}
        for key, bucket in buckets.items():
            span = key[0]
            rollup = bucket.rollup
            # Minutes are small: always exact. An hour's sketch holds tens of buckets: encoded once a minute.
            if (fresh or span == MINUTE or bucket.encoded is None
                    or self._latest - bucket.encoded_at >= SKETCH_EVERY):
                bucket.encoded = (rollup.sketch.encode(), encode_outcomes(rollup.outcomes))
                bucket.encoded_at = self._latest
                self._behind.pop(key, None)
            else:
                self._behind[key] = bucket
            sketch, outcomes = bucket.encoded
            rows[span].append((rollup.host, int(rollup.start), rollup.checks, rollup.available, rollup.rt_count,
                               rollup.rt_sum, rollup.rt_min, rollup.rt_max, sketch, outcomes))
        for span, found in rows.items():
            if found:
                connection.executemany(_REPLACES[span], found)

    def _close_old(self, connection: sqlite3.Connection) -> None:
        old = {key: bucket for key, bucket in self._open.items()
               if key[2] + key[0] + KEEP_OPEN[key[0]] < self._latest}
        if old:
            self._write(connection, old, fresh=True)
            for key in old:
                del self._open[key]
                self._behind.pop(key, None)

    @staticmethod
    def _read(connection: sqlite3.Connection, span: float, host: str, start: float) -> Rollup:
        row = connection.execute(f"SELECT {_COLUMNS} FROM {ROLLUP_TABLES[span]} WHERE host = ? AND start = ?",
                                 (host, int(start))).fetchone()
        if row is None:
            return Rollup(host, start, span)
        rollup = rollup_from_row(row, span)
        if span == HOUR:
            _made_whole(connection, rollup)  # read back after a batch that failed: written lately, maybe
        return rollup


def _made_whole(connection: sqlite3.Connection, hour: Rollup) -> bool:
    """Whether `hour`, read from a row written while it was open, had its sketch and outcomes made whole.

    An open hour's counts are written with every batch, its sketch and outcomes once a minute (`SKETCH_EVERY`):
    read back from its row (by a writer after a kill, or after a batch that failed), they count fewer probes
    than its counts, and the probes added next would keep them short for good. Its minutes' rows are written
    exactly with every batch: their sketch and outcomes are taken when they count the same probes (they do,
    unless older than `MINUTE_KEEP`)."""
    if hour.sketch.total == hour.rt_count and sum(hour.outcomes.values()) == hour.checks:
        return False
    rows = connection.execute(f"SELECT {_COLUMNS} FROM {MINUTE_TABLE} WHERE host = ? AND start >= ? AND start < ?",
                              (hour.host, int(hour.start), int(hour.end))).fetchall()
    minutes = merged((rollup_from_row(row, MINUTE) for row in rows), HOUR)
    if not minutes or (minutes[0].checks, minutes[0].rt_count) != (hour.checks, hour.rt_count):
        return False
    hour.sketch, hour.outcomes = minutes[0].sketch, minutes[0].outcomes
    return True


def repair_hours_left_open(connection: sqlite3.Connection) -> int:
    """Make whole the hour rows a writer killed while they were open left behind (see `_made_whole`), those no
    probe of the next writer touches too; the rows repaired. Only the hours still open then can be so (a closed
    hour is written exactly): those of the last `HOUR + KEEP_OPEN[HOUR]` before the newest."""
    newest = connection.execute(f"SELECT max(start) FROM {HOUR_TABLE}").fetchone()[0]
    if newest is None:
        return 0
    recent = connection.execute(f"SELECT {_COLUMNS} FROM {HOUR_TABLE} WHERE start >= ?",
                                (int(newest - HOUR - KEEP_OPEN[HOUR]),)).fetchall()
    repaired = [rollup_row(hour) for hour in (rollup_from_row(row, HOUR) for row in recent)
                if _made_whole(connection, hour)]
    if repaired:
        with write_transaction(connection):
            connection.executemany(_REPLACES[HOUR], repaired)
    return len(repaired)


def rollup_row(rollup: Rollup) -> RollupRow:
    return (rollup.host, int(rollup.start), rollup.checks, rollup.available, rollup.rt_count, rollup.rt_sum,
            rollup.rt_min, rollup.rt_max, rollup.sketch.encode(), encode_outcomes(rollup.outcomes))


def rollup_from_row(row: RollupRow, span: float) -> Rollup:
    host, start, checks, available, rt_count, rt_sum, rt_min, rt_max, sketch, outcomes = row
    return Rollup(host, float(start), span, checks, available, rt_count, rt_sum, rt_min, rt_max,
                  ResponseSketch.decode(sketch), decode_outcomes(outcomes))


def rollups_missing(connection: sqlite3.Connection) -> bool:
    """True when raw probes exist but no hour rollup does (a file from before rollups, or rollups deleted), or
    when a rebuild was stopped before its end (killed, Ctrl-C): what it had counted is only part of the probes."""
    has_probes = connection.execute(f"SELECT 1 FROM {PROBE_TABLE} LIMIT 1").fetchone() is not None
    has_rollups = connection.execute(f"SELECT 1 FROM {HOUR_TABLE} LIMIT 1").fetchone() is not None
    unfinished = connection.execute(f"SELECT 1 FROM {META_TABLE} WHERE key = ?", (_REBUILDING,)).fetchone()
    return has_probes and (not has_rollups or unfinished is not None)


def rebuild(connection: sqlite3.Connection, progress: Callable[[int, int], None] | None = None) -> int:
    """Recount both rollup tables from the raw probes, a chunk of rowids per transaction; the probes read.
    `progress(done, total)` before the first chunk and after each, in rowids (a progress bar's units)."""
    columns = select_columns(connection, PROBE_TABLE)
    with write_transaction(connection):
        connection.execute(f"DELETE FROM {MINUTE_TABLE}")
        connection.execute(f"DELETE FROM {HOUR_TABLE}")
        # Said in the file until the last chunk's commit, so a rebuild stopped halfway is done again.
        connection.execute(f"INSERT OR REPLACE INTO {META_TABLE} (key, value) VALUES (?, 'under way')",
                           (_REBUILDING,))
    low, high = connection.execute(f"SELECT min(rowid), max(rowid) FROM {PROBE_TABLE}").fetchone()
    if progress is not None and low is not None:
        progress(0, high - low + 1)  # said before the first chunk: a big file's rebuild takes minutes
    read = last = 0
    buckets = OpenRollups()
    buckets.add(connection, [])
    while True:
        rows = connection.execute(f"SELECT rowid, {columns} FROM {PROBE_TABLE} WHERE rowid > ? "
                                  "ORDER BY rowid LIMIT ?", (last, REBUILD_CHUNK)).fetchall()
        with write_transaction(connection):
            if not rows:
                buckets.flush(connection)
                connection.execute(f"DELETE FROM {META_TABLE} WHERE key = ?", (_REBUILDING,))
                return read
            last = rows[-1][0]
            read += len(rows)
            buckets.add(connection, (probe_from_row(row[1:]) for row in rows))
        if progress is not None and low is not None:
            progress(last - low + 1, high - low + 1)


def prune(connection: sqlite3.Connection, now: float, hour_keep: float) -> int:
    """Delete minute rows older than `MINUTE_KEEP` and hour rows older than `hour_keep`, one short
    transaction per site and table; the rows deleted."""
    deleted = 0
    for table, keep in ((MINUTE_TABLE, MINUTE_KEEP), (HOUR_TABLE, hour_keep)):
        for host in hosts_of(connection, table):
            with write_transaction(connection):
                deleted += connection.execute(f"DELETE FROM {table} WHERE host = ? AND start < ?",
                                              (host, int(now - keep))).rowcount
    return deleted


def hosts_of(connection: sqlite3.Connection, table: str) -> list[str]:
    """The distinct hosts of a rollup table, one index seek each (a skip scan written out)."""
    rows = connection.execute(
        f"WITH RECURSIVE h(host) AS (SELECT min(host) FROM {table} UNION ALL "
        f"SELECT (SELECT min(host) FROM {table} WHERE host > h.host) FROM h WHERE h.host IS NOT NULL) "
        "SELECT host FROM h WHERE host IS NOT NULL").fetchall()
    return [row[0] for row in rows]


def read_rollups(connection: sqlite3.Connection, span: float, since: float, until: float,
                 hosts: Collection[str] | None, step: float, detail: bool) -> list[Rollup]:
    """Rollups of `span`-second rows in [since, until), summed into buckets of `step` seconds, per site in
    (site, time) order. Without `detail`, only the sums (checks, available, response-time count, sum, min,
    max) are read, in SQL: the sketches and outcomes come back empty."""
    table = ROLLUP_TABLES[span]
    wanted = sorted(hosts) if hosts is not None else hosts_of(connection, table)
    result: list[Rollup] = []
    step_seconds = int(step)
    for host in wanted:
        if detail:
            rows = connection.execute(f"SELECT {_COLUMNS} FROM {table} WHERE host = ? AND start >= ? AND start < ? "
                                      "ORDER BY start", (host, int(since), int(until))).fetchall()
            result.extend(merged((rollup_from_row(row, span) for row in rows), step))
        else:
            rows = connection.execute(
                f"SELECT start - start % ? AS bucket, sum(checks), sum(available), sum(rtCount), sum(rtSum), "
                f"min(rtMin), max(rtMax) FROM {table} WHERE host = ? AND start >= ? AND start < ? "
                "GROUP BY bucket ORDER BY bucket", (step_seconds, host, int(since), int(until))).fetchall()
            result.extend(Rollup(host, float(bucket), step, checks, available, rt_count, rt_sum, rt_min, rt_max)
                          for bucket, checks, available, rt_count, rt_sum, rt_min, rt_max in rows)
    return result

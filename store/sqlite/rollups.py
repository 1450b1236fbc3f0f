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
from collections.abc import Collection, Iterable

from monitoringapp.domain.events import Probe
from monitoringapp.operators.rollup import (
    HOUR,
    MINUTE,
    ResponseSketch,
    Rollup,
    decode_outcomes,
    encode_outcomes,
    rollups_of,
)
from monitoringapp.store.sqlite.schema import (
    HOUR_TABLE,
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

_COLUMNS = "host, start, checks, available, rtCount, rtSum, rtMin, rtMax, sketch, outcomes"
RollupRow = tuple[str, int, int, int, int, float, float | None, float | None, bytes | None, str | None]


def _upsert(table: str) -> str:
    # A bucket already there (an earlier batch of the same minute) is summed with the new one in SQL;
    # sketches and outcomes are merged by the two functions `register_functions` adds.
    return (f"INSERT INTO {table} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (host, start) DO UPDATE SET checks = checks + excluded.checks, "
            "available = available + excluded.available, rtCount = rtCount + excluded.rtCount, "
            "rtSum = rtSum + excluded.rtSum, "
            "rtMin = coalesce(min(rtMin, excluded.rtMin), rtMin, excluded.rtMin), "
            "rtMax = coalesce(max(rtMax, excluded.rtMax), rtMax, excluded.rtMax), "
            "sketch = monitoringapp_merge_sketches(sketch, excluded.sketch), "
            "outcomes = monitoringapp_merge_outcomes(outcomes, excluded.outcomes)")


_UPSERTS = {span: _upsert(table) for span, table in ROLLUP_TABLES.items()}


def register_functions(connection: sqlite3.Connection) -> None:
    """The SQL functions the rollup upsert uses; every writing connection gets them."""
    connection.create_function("monitoringapp_merge_sketches", 2, _merge_sketches, deterministic=True)
    connection.create_function("monitoringapp_merge_outcomes", 2, _merge_outcomes, deterministic=True)


def _merge_sketches(left: bytes | None, right: bytes | None) -> bytes:
    sketch = ResponseSketch.decode(left)
    sketch.merge(ResponseSketch.decode(right))
    return sketch.encode()


def _merge_outcomes(left: str | None, right: str | None) -> str:
    outcomes = decode_outcomes(left)
    for outcome, count in decode_outcomes(right).items():
        outcomes[outcome] = outcomes.get(outcome, 0) + count
    return encode_outcomes(outcomes)


def rollup_row(rollup: Rollup) -> RollupRow:
    return (rollup.host, int(rollup.start), rollup.checks, rollup.available, rollup.rt_count, rollup.rt_sum,
            rollup.rt_min, rollup.rt_max, rollup.sketch.encode(), encode_outcomes(rollup.outcomes))


def rollup_from_row(row: RollupRow, span: float) -> Rollup:
    host, start, checks, available, rt_count, rt_sum, rt_min, rt_max, sketch, outcomes = row
    return Rollup(host, float(start), span, checks, available, rt_count, rt_sum, rt_min, rt_max,
                  ResponseSketch.decode(sketch), decode_outcomes(outcomes))


def add_probes(connection: sqlite3.Connection, probes: Iterable[Probe], now: float | None = None) -> None:
    """Count `probes` into both rollup tables (inside the caller's transaction). Minute buckets older than
    `MINUTE_KEEP` before `now` (the latest probe's time when None) are not written: retention would drop them."""
    batch = list(probes)
    if not batch:
        return
    latest = max(probe.timestamp for probe in batch) if now is None else now
    for span, since in ((MINUTE, latest - MINUTE_KEEP), (HOUR, float("-inf"))):
        rows = [rollup_row(rollup) for rollup in rollups_of(batch, span, since).values()]
        connection.executemany(_UPSERTS[span], rows)


def rollups_missing(connection: sqlite3.Connection) -> bool:
    """True when raw probes exist but no hour rollup does (a file from before rollups, or rollups deleted)."""
    has_probes = connection.execute(f"SELECT 1 FROM {PROBE_TABLE} LIMIT 1").fetchone() is not None
    has_rollups = connection.execute(f"SELECT 1 FROM {HOUR_TABLE} LIMIT 1").fetchone() is not None
    return has_probes and not has_rollups


def rebuild(connection: sqlite3.Connection, now: float) -> int:
    """Recount both rollup tables from the raw probes, a chunk of rowids per transaction; the probes read."""
    columns = select_columns(connection, PROBE_TABLE)
    with write_transaction(connection):
        connection.execute(f"DELETE FROM {MINUTE_TABLE}")
        connection.execute(f"DELETE FROM {HOUR_TABLE}")
    read = last = 0
    while True:
        rows = connection.execute(f"SELECT rowid, {columns} FROM {PROBE_TABLE} WHERE rowid > ? "
                                  "ORDER BY rowid LIMIT ?", (last, REBUILD_CHUNK)).fetchall()
        if not rows:
            return read
        last = rows[-1][0]
        read += len(rows)
        with write_transaction(connection):
            add_probes(connection, (probe_from_row(row[1:]) for row in rows), now)


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
            buckets: dict[float, Rollup] = {}
            for row in rows:
                rollup = rollup_from_row(row, span)
                start = rollup.start - rollup.start % step
                bucket = buckets.get(start)
                if bucket is None:
                    bucket = buckets[start] = Rollup(host, start, step)
                bucket.merge(rollup)
            result.extend(buckets.values())
        else:
            rows = connection.execute(
                f"SELECT start - start % ? AS bucket, sum(checks), sum(available), sum(rtCount), sum(rtSum), "
                f"min(rtMin), max(rtMax) FROM {table} WHERE host = ? AND start >= ? AND start < ? "
                "GROUP BY bucket ORDER BY bucket", (step_seconds, host, int(since), int(until))).fetchall()
            result.extend(Rollup(host, float(bucket), step, checks, available, rt_count, rt_sum, rt_min, rt_max)
                          for bucket, checks, available, rt_count, rt_sum, rt_min, rt_max in rows)
    return result

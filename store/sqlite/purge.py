"""Deleting old rows without blocking the log's writer: a cutoff in, the number of rows deleted out.

Rows are deleted by rowid range, `batch` rowids per short write transaction,
with a pause after each one as long as the transaction took (at least
`pause`), so a monitor's writer waiting on the lock gets in within one batch
and readers (WAL) are never blocked at all. Shared by `--purge` (`purge_log`)
and the monitor's `retention`.
"""

from __future__ import annotations

import bisect
import functools
import sqlite3
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.schema import (
    ALERT_TABLE,
    PROBE_TABLE,
    has_stable_ids,
    is_busy,
    open_existing,
    remembered_alert_rowids,
    tables,
    write_transaction,
)

BATCH_ROWS = 5000
MIN_PAUSE = 0.005


@dataclass(slots=True)
class PurgeStats:
    """What a purge did: rows deleted, transactions, and the longest one (seconds)."""

    deleted: int = 0
    batches: int = 0
    longest_lock: float = 0.0


class BatchedPurge:
    """One purge of `table` before `cutoff` (of `hosts` only, if given), a batch of rowids per `step`.

    `keep_remembered` (the alert table's) spares the rows a restart rebuilds its state from: each site's newest
    alert or recovery (its alert state), each location's (an evaluator's), and each certificate's tightest
    warning (a monitor's certificate watch: without it, a restarted monitor warned of it again).
    `keep_newest_rowid` spares the row numbered highest, a table from before schema 2's: SQLite would give its
    number again, past readers' cursors.
    """

    def __init__(self, connection: sqlite3.Connection, table: str, cutoff: float,
                 hosts: Collection[str] | None = None, *, batch: int = BATCH_ROWS,
                 keep_remembered: bool = False, keep_newest_rowid: bool = False) -> None:
        self.connection = connection
        self.batch = batch
        self.stats = PurgeStats()
        before = iso_utc(max(0.0, cutoff))
        # A read: under WAL it blocks nobody.
        lowest, highest = connection.execute(
            f"SELECT min(rowid), max(rowid) FROM {table} WHERE timestamp < ?", (before,)).fetchone()
        self.next_rowid: int = lowest if lowest is not None else 1
        self.first_rowid = self.next_rowid
        self.last_rowid: int = highest if highest is not None else 0
        some = sorted(hosts) if hosts is not None else []
        condition = "timestamp < ?" + (f" AND host IN ({', '.join('?' * len(some))})" if hosts is not None else "")
        self.parameters: tuple[str, ...] = (before, *some)
        # Read once, beside the lowest and highest: as much work as all the deletes on a big alert table, and a
        # row at or below `last_rowid` never becomes one of them (newer rows only take it from older ones).
        self.spared: list[int] = sorted(row[0] for row in connection.execute(
            remembered_alert_rowids(connection)) if row[0] is not None) if keep_remembered else []
        if keep_newest_rowid:
            condition += f" AND rowid < (SELECT max(rowid) FROM {table})"
        self.statement = f"DELETE FROM {table} WHERE rowid >= ? AND rowid < ? AND {condition}"

    @property
    def done(self) -> bool:
        return self.next_rowid > self.last_rowid

    @property
    def progress(self) -> tuple[int, int]:
        """(rows gone through, rows to go through), counted in rowids: how far the purge is."""
        total = max(0, self.last_rowid - self.first_rowid + 1)
        return min(total, self.next_rowid - self.first_rowid), total

    def step(self) -> float:
        """Delete the next batch in one short write transaction; the seconds the lock was held."""
        low, high = self.next_rowid, self.next_rowid + self.batch
        spared = self.spared[bisect.bisect_left(self.spared, low):bisect.bisect_left(self.spared, high)]
        statement = self.statement + (f" AND rowid NOT IN ({', '.join('?' * len(spared))})" if spared else "")
        began = time.perf_counter()
        with write_transaction(self.connection):
            cursor = self.connection.execute(statement, (low, high, *self.parameters, *spared))
        held = time.perf_counter() - began
        self.next_rowid += self.batch
        self.stats.deleted += cursor.rowcount
        self.stats.batches += 1
        self.stats.longest_lock = max(self.stats.longest_lock, held)
        return held


def purge_before(
    connection: sqlite3.Connection,
    table: str,
    cutoff: float,
    hosts: Collection[str] | None = None,
    *,
    batch: int = BATCH_ROWS,
    pause: float = MIN_PAUSE,
    keep_remembered: bool = False,
    keep_newest_rowid: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    on_batch: Callable[[BatchedPurge], None] | None = None,
) -> PurgeStats:
    """Delete the rows of `table` with timestamp before `cutoff`, batch after batch, pausing between;
    `on_batch` hears of each batch done (how far: `BatchedPurge.progress`, deleted: its `stats`)."""
    purge = BatchedPurge(connection, table, cutoff, hosts, batch=batch, keep_remembered=keep_remembered,
                         keep_newest_rowid=keep_newest_rowid)
    if on_batch is not None:
        on_batch(purge)
    while not purge.done:
        held = purge.step()
        if on_batch is not None:
            on_batch(purge)
        if not purge.done:
            sleep(max(pause, held))
    return purge.stats


@dataclass(frozen=True, slots=True)
class PurgeStep:
    """One part of `purge_log` done: `what` ("probes", "alerts" or "vacuum"), its stats, its wall time."""

    what: str
    stats: PurgeStats
    seconds: float


def purge_log(path: str | Path, cutoff: float, hosts: Collection[str] | None = None, *, alerts: bool = False,
              vacuum: bool = False, on_batch: Callable[[str, BatchedPurge], None] | None = None,
              ) -> Iterator[PurgeStep]:
    """`--purge`: delete the probes of the log at `path` older than `cutoff` (of `hosts` only, if given), then
    with `alerts` the alert rows too but those a restart rebuilds its state from, then with `vacuum`
    give the space back; each step as it is done, and each batch to `on_batch` (with "probes" or "alerts").
    Never creates or alters anything else.

    A file from before schema 2 (rows numbered by rowid only) keeps each table's highest-numbered row, and
    `vacuum` is refused on it (StoreError, before anything is deleted): either would renumber rows under the
    readers' cursors."""
    connection = open_existing(path)
    try:
        unstable = [table for table in (PROBE_TABLE, ALERT_TABLE)
                    if table in tables(connection) and not has_stable_ids(connection, table)]
        if vacuum and unstable:
            raise StoreError(f"{path}: --vacuum would renumber the rows of this database from before schema 2, "
                             "and readers follow them by number; run -m on it once (it migrates the file, keeping "
                             "every row and its number), then --vacuum")
        chosen = [(PROBE_TABLE, False)] + ([(ALERT_TABLE, True)] if alerts else [])
        for table, remembered in chosen:
            what = "probes" if table == PROBE_TABLE else "alerts"
            started = time.perf_counter()
            told = None if on_batch is None else functools.partial(on_batch, what)
            stats = purge_before(connection, table, cutoff, hosts, keep_remembered=remembered,
                                 keep_newest_rowid=table in unstable, on_batch=told)
            yield PurgeStep(what, stats, time.perf_counter() - started)
        if vacuum:
            started = time.perf_counter()
            connection.execute("VACUUM")
            yield PurgeStep("vacuum", PurgeStats(), time.perf_counter() - started)
    except sqlite3.OperationalError as error:
        why = "busy (locked by another process for more than 5s)" if is_busy(error) else str(error)
        raise StoreError(f"{path}: purge stopped: {why}") from None
    finally:
        connection.close()

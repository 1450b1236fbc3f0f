"""The monitor's own retention: probe rows older than `retention` deleted a small batch at a time.

Every `every` seconds on `scheduler`, the retention in force (if any)
sets a cutoff; one batch of rowids is deleted per `gap` seconds until the
purge is through, each in its own short transaction on its own connection, so
the store's writer waits at most one batch (milliseconds) for the lock. Each round first deletes the
rollups older than theirs (minute rows after 14 days, hour rows after `rollupRetention`), whatever the
probes' retention.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from reactivex import abc
from reactivex.disposable import Disposable, SerialDisposable

from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.store.sqlite.purge import BATCH_ROWS, BatchedPurge
from monitoringapp.store.sqlite.rollups import DEFAULT_HOUR_KEEP, prune
from monitoringapp.store.sqlite.schema import PROBE_TABLE, connect

RETENTION_EVERY = 300.0
BATCH_GAP = 1.0
FIRST_AFTER = 5.0


class _RetentionRounds:
    """The purge in progress, if any, and the connection it runs on; `step` says when to come back."""

    def __init__(self, db_path: str | Path, latest_retention: Callable[[], float | None],
                 on_error: Callable[[str], None], every: float, gap: float, batch: int,
                 latest_rollup_retention: Callable[[], float]) -> None:
        self.db_path = db_path
        self.latest_retention = latest_retention
        self.latest_rollup_retention = latest_rollup_retention
        self.on_error = on_error
        self.every, self.gap, self.batch = every, gap, batch
        self.connection: sqlite3.Connection | None = None
        self.purge: BatchedPurge | None = None

    def step(self, now: float) -> float:
        try:
            if self.purge is None:
                if self.connection is None:
                    self.connection = connect(self.db_path, existing=True)  # never re-create a deleted file
                prune(self.connection, now, self.latest_rollup_retention())
                retention = self.latest_retention()
                if retention is None:
                    return self.every
                self.purge = BatchedPurge(self.connection, PROBE_TABLE, now - retention, batch=self.batch)
            if not self.purge.done:
                self.purge.step()
        except sqlite3.Error as error:
            self.on_error(f"retention: {self.db_path}: {error}; retrying in {self.every:g}s")
            self.purge = None
            return self.every
        if self.purge.done:
            self.purge = None
            return self.every
        return self.gap

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def start_retention(
    db_path: str | Path,
    latest_retention: Callable[[], float | None],
    scheduler: abc.SchedulerBase,
    on_error: Callable[[str], None],
    *,
    every: float = RETENTION_EVERY,
    gap: float = BATCH_GAP,
    first_after: float = FIRST_AFTER,
    batch: int = BATCH_ROWS,
    latest_rollup_retention: Callable[[], float] = lambda: DEFAULT_HOUR_KEEP,
) -> abc.DisposableBase:
    """Purge by `latest_retention()` and the rollups by `latest_rollup_retention()` until disposed; errors go
    to `on_error` and the next round retries."""
    rounds = _RetentionRounds(db_path, latest_retention, on_error, every, gap, batch, latest_rollup_retention)
    next_run = SerialDisposable()
    lock = threading.Lock()  # a step runs on the scheduler's thread, dispose on the caller's
    stopped = False

    def run(sched: abc.SchedulerBase, _: object = None) -> None:
        with lock:
            if not stopped:
                next_run.disposable = sched.schedule_relative(rounds.step(epoch_seconds(sched.now)), run)

    def stop() -> None:
        nonlocal stopped
        with lock:
            stopped = True
            next_run.dispose()
            rounds.close()

    next_run.disposable = scheduler.schedule_relative(first_after, run)
    return Disposable(stop)

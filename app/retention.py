"""The monitor's own retention: probe rows older than the config's `retention` deleted a small batch at a time.

Every `every` seconds on `scheduler`, the latest config's `retention` (if any)
sets a cutoff; one batch of rowids is deleted per `gap` seconds until the
purge is through, each in its own short transaction on its own connection, so
the store's writer waits at most one batch (milliseconds) for the lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from reactivex import abc
from reactivex.disposable import Disposable, SerialDisposable

from domain.config import Config
from domain.timefmt import epoch_seconds
from store.purge import BATCH_ROWS, PROBE_TABLE, BatchedPurge
from store.schema import connect

RETENTION_EVERY = 300.0
BATCH_GAP = 1.0
FIRST_AFTER = 5.0


def start_retention(
    db_path: str | Path,
    latest_config: Callable[[], Config],
    scheduler: abc.SchedulerBase,
    on_error: Callable[[str], None],
    *,
    every: float = RETENTION_EVERY,
    gap: float = BATCH_GAP,
    first_after: float = FIRST_AFTER,
    batch: int = BATCH_ROWS,
) -> abc.DisposableBase:
    """Purge by `latest_config().retention` until disposed; errors go to `on_error` and the next round retries."""
    next_run = SerialDisposable()
    lock = threading.Lock()  # a step on the scheduler's thread, dispose on the caller's
    state: dict[str, object] = {}
    stopped = False

    def connection() -> sqlite3.Connection:
        existing = state.get("connection")
        if isinstance(existing, sqlite3.Connection):
            return existing
        fresh = state["connection"] = connect(db_path)
        return fresh

    def run(sched: abc.SchedulerBase, _: object = None) -> None:
        with lock:
            if stopped:
                return
            delay = step(epoch_seconds(sched.now))
            next_run.disposable = sched.schedule_relative(delay, run)

    def step(now: float) -> float:
        purge = state.get("purge")
        try:
            if not isinstance(purge, BatchedPurge):
                retention = latest_config().retention
                if retention is None:
                    return every
                purge = state["purge"] = BatchedPurge(connection(), PROBE_TABLE, now - retention, batch=batch)
            if not purge.done:
                purge.step()
        except sqlite3.Error as error:
            on_error(f"retention: {db_path}: {error}; retrying in {every:g}s")
            state.pop("purge", None)
            return every
        if purge.done:
            state.pop("purge", None)
            return every
        return gap

    next_run.disposable = scheduler.schedule_relative(first_after, run)

    def stop() -> None:
        nonlocal stopped
        with lock:
            stopped = True
            next_run.dispose()
            existing = state.pop("connection", None)
            if isinstance(existing, sqlite3.Connection):
                existing.close()

    return Disposable(stop)

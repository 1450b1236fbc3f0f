"""The stored event log followed live: one table's history, then the rows other processes append to it.

`follow_log` is an observable of batches: the first is the history (read in one
snapshot), each later one the rows committed since the batch before. It reads
through a read-only connection and never holds a transaction between polls, so
a monitor writing the database is never blocked. A poll is cheap: `PRAGMA
data_version` tells whether another connection committed since the last poll,
and only then are the rows above the last seen rowid read.

It waits for a database that does not exist yet, retries a busy or locked one
at the next poll, and keeps going through a monitor's restart, a purge, a
VACUUM that renumbers rows and a database file replaced by a new one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from store.schema import StoreError, check_schema_version, connect
from streams.ticks import fixed_rate_ticks

T = TypeVar("T")

POLL_INTERVAL = 0.25
# A reader that finds the database locked tries again at the next poll rather than wait for it.
_BUSY_TIMEOUT = 0.05


@dataclass(frozen=True, slots=True)
class LogFeed(Generic[T]):
    """What to follow: `table`, its `history` (read once) and its rows `after` a rowid, oldest first."""

    table: str
    history: Callable[[sqlite3.Connection], Sequence[T]]
    after: Callable[[sqlite3.Connection, int], Sequence[T]]


def follow_log(
    feed: LogFeed[T],
    path: str | Path,
    scheduler: abc.SchedulerBase,
    poll_interval: float = POLL_INTERVAL,
    wake: Observable[Any] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Observable[tuple[T, ...]]:
    """The history of `feed` in the database at `path`, then every `poll_interval` the rows appended since.

    Polls run on `scheduler`; each item of `wake` asks for one more poll at once
    (print mode polls before each report, so a report shows every row committed
    before it). `notice` hears of the waits (one line each). A file that is not a
    monitoringApp database ends the stream with a `StoreError`.

    Example: ``follow_log(LogFeed("website_alerts", alert_history, alerts_after), "m.db", EventLoopScheduler())``
    """

    def subscribe(observer: abc.ObserverBase[tuple[T, ...]],
                  _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        follower = LogFollower(feed, Path(path), observer.on_next, observer.on_error, notice)
        polls = fixed_rate_ticks(poll_interval, scheduler).subscribe(lambda _: follower.poll())
        wakes = wake.subscribe(lambda _: follower.poll()) if wake is not None else Disposable()
        return CompositeDisposable(polls, wakes, Disposable(follower.close))

    return Observable(subscribe)


class LogFollower(Generic[T]):
    """The state of one follower: its connection, the last rowid seen and what it has said."""

    def __init__(self, feed: LogFeed[T], path: Path, emit: Callable[[tuple[T, ...]], None],
                 fail: Callable[[Exception], None], notice: Callable[[str], None] | None = None) -> None:
        self.feed = feed
        self.path = path
        self.emit = emit
        self.fail = fail
        self.notice = notice
        self.connection: sqlite3.Connection | None = None
        self.file_identity: tuple[int, int] | None = None
        self.data_version: int | None = None
        self.started = False  # the history has been emitted
        self.last_rowid = 0
        self.last_timestamp: str | None = None  # of the row at `last_rowid`, to notice rows renumbered
        self.polls = 0
        self.reads = 0
        self.said: set[str] = set()
        self.done = False
        self._lock = threading.RLock()  # emitting may dispose, which closes

    def poll(self) -> None:
        with self._lock:
            if self.done:
                return
            self.polls += 1
            try:
                self._poll()
            except sqlite3.OperationalError as error:
                # Locked, busy, or not yet set up by the monitor: the next poll tries again.
                text = str(error)
                if "no such table" in text:
                    self._say(f"waiting for {self.path} to hold monitoringApp's tables")
                elif "locked" not in text and "busy" not in text:
                    self._say(f"cannot read {self.path} yet ({text}); retrying")
            except sqlite3.DatabaseError as error:
                self._close_connection()
                self.done = True
                self.fail(StoreError(f"{self.path}: cannot use as a monitoringApp database: {error}"))
            except StoreError as error:
                self._close_connection()
                self.done = True
                self.fail(error)

    def close(self) -> None:
        with self._lock:
            self.done = True
            self._close_connection()

    def _poll(self) -> None:
        identity = _identity(self.path)
        if identity is None:
            self._close_connection()
            self._say(f"waiting for {self.path} to be created by a monitor (-m)")
            return
        if self.connection is not None and identity != self.file_identity:
            self._close_connection()  # replaced by a new file: re-anchored on the next read
        if self.connection is None:
            connection = connect(self.path, readonly=True, timeout=_BUSY_TIMEOUT)
            check_schema_version(connection, self.path)  # kept only once it is known to be ours
            self.connection, self.file_identity, self.data_version = connection, identity, None
        data_version = self.connection.execute("PRAGMA data_version").fetchone()[0]
        if self.started and data_version == self.data_version:
            return
        batch = self._read(self.connection)
        self.data_version = data_version
        if batch or not self.started:
            self.started = True
            self.emit(batch)

    def _read(self, connection: sqlite3.Connection) -> tuple[T, ...]:
        """The history or the rows after the last seen, and the new last rowid, from one snapshot."""
        table = self.feed.table
        self.reads += 1
        connection.execute("BEGIN")
        try:
            top = connection.execute(f"SELECT rowid, timestamp FROM {table} ORDER BY rowid DESC LIMIT 1").fetchone()
            if not self.started:
                batch = tuple(self.feed.history(connection))
            else:
                if self._rows_moved(connection):
                    self.last_rowid = self._anchor(connection)
                batch = tuple(self.feed.after(connection, self.last_rowid))
        finally:
            self._end_read()
        self.last_rowid, self.last_timestamp = top if top is not None else (0, None)
        return batch

    def _rows_moved(self, connection: sqlite3.Connection) -> bool:
        """Whether the last row seen is no longer at its rowid: deleted, or renumbered by a VACUUM."""
        if self.last_timestamp is None:
            return False
        row = connection.execute(f"SELECT timestamp FROM {self.feed.table} WHERE rowid = ?",
                                 (self.last_rowid,)).fetchone()
        return row is None or row[0] != self.last_timestamp

    def _anchor(self, connection: sqlite3.Connection) -> int:
        # Rare (purge, VACUUM, new file): find our place again by time, the one thing rowids do not keep.
        row = connection.execute(f"SELECT coalesce(max(rowid), 0) FROM {self.feed.table} WHERE timestamp <= ?",
                                 (self.last_timestamp,)).fetchone()
        return int(row[0])

    def _end_read(self) -> None:
        # Never keep a snapshot open between polls: it would hold back the monitor's WAL checkpoints.
        if self.connection is not None and self.connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.connection.execute("ROLLBACK")

    def _close_connection(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def _say(self, text: str) -> None:
        if text not in self.said:
            self.said.add(text)
            if self.notice is not None:
                self.notice(text)


def _identity(path: Path) -> tuple[int, int] | None:
    """The file's (device, inode); None while it does not exist yet. A path that is not a file,
    or cannot be one (under a regular file, say), is a user's mistake: StoreError."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"{path}: cannot use as a monitoringApp database: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise StoreError(f"{path}: is not a file")  # a directory never becomes a database: no point waiting
    return status.st_dev, status.st_ino

"""`DeliveryState` in a SQLite file of its own (WAL): one row per channel, one commit per delivery; held by one
notifier at a time (the writer's lock, `<state>.lock`)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.store.delivery_state import ChannelProgress
from monitoringapp.store.log import Cursor, StoreError
from monitoringapp.store.sqlite.lock import WriterLock
from monitoringapp.store.sqlite.schema import OUR_TABLES, connect, tables, write_transaction

STATE_VERSION = 1
CHANNEL_TABLE = "notify_channels"
FLAG_TABLE = "notify_flags"
_CREATE = (
    f"""CREATE TABLE IF NOT EXISTS {CHANNEL_TABLE} (
    channel TEXT PRIMARY KEY,
    log TEXT NOT NULL,
    position INTEGER NOT NULL,
    time TEXT,
    transitionId TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    lastError TEXT,
    deliveredAt TEXT
)""",
    f"CREATE TABLE IF NOT EXISTS {FLAG_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


class SqliteDeliveryState:
    """The notifier's state file at `path`, created when missing; StoreError for a file that is not one."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.parent.exists():
            raise StoreError(f"{path}: directory {str(self.path.parent)!r} does not exist")
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"{path}: is not a file")
        try:
            if self.path.exists():
                self._check(path)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: cannot use as the notifier's state file: {error}") from None
        # One notifier per state file: a second would deliver every transition again.
        self._owner = WriterLock.acquire(self.path)
        try:
            self._connection = connect(self.path)
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA synchronous = NORMAL")
            with write_transaction(self._connection):
                for statement in _CREATE:
                    self._connection.execute(statement)
                self._connection.execute(f"PRAGMA user_version = {STATE_VERSION}")
        except sqlite3.DatabaseError as error:
            self._owner.release()
            raise StoreError(f"{path}: cannot use as the notifier's state file: {error}") from None
        self._lock = threading.Lock()
        self._closed = False

    @staticmethod
    def _check(path: str | Path) -> None:
        """Refuse, before writing anything, a file that is not a state file of ours (the monitor's database
        among them)."""
        probe = connect(path, existing=True)
        try:
            found = tables(probe)
            version = int(probe.execute("PRAGMA user_version").fetchone()[0])
        finally:
            probe.close()
        if found & OUR_TABLES:
            raise StoreError(f"{path}: is a monitor's database; the notifier keeps its state in a file of its own "
                             "(--state)")
        if found and CHANNEL_TABLE not in found:
            raise StoreError(f"{path}: is another application's database, not a notifier state file")
        if version > STATE_VERSION:
            raise StoreError(f"{path}: state version {version} is newer than this monitoringApp understands")

    def progress(self) -> dict[str, ChannelProgress]:
        with self._lock:
            rows = self._connection.execute(
                f"SELECT channel, log, position, time, transitionId, attempts, lastError, deliveredAt "
                f"FROM {CHANNEL_TABLE}").fetchall()
        return {row[0]: ChannelProgress(row[0], Cursor(row[1], int(row[2]), _time(row[3])), row[4], int(row[5]),
                                        row[6], _time(row[7])) for row in rows}

    def started(self, channel: str, cursor: Cursor) -> None:
        self._write(f"INSERT OR REPLACE INTO {CHANNEL_TABLE} (channel, log, position, time) VALUES (?, ?, ?, ?)",
                    (channel, cursor.log, cursor.position, _text(cursor.time)))

    def delivered(self, channel: str, cursor: Cursor | None, last_id: str, at: float) -> None:
        if cursor is None:
            self._write(f"UPDATE {CHANNEL_TABLE} SET transitionId = ?, attempts = 0, lastError = NULL, "
                        "deliveredAt = ? WHERE channel = ?", (last_id, iso_utc(at), channel))
        else:
            self._write(f"UPDATE {CHANNEL_TABLE} SET log = ?, position = ?, time = ?, transitionId = ?, attempts = 0, "
                        "lastError = NULL, deliveredAt = ? WHERE channel = ?",
                        (cursor.log, cursor.position, _text(cursor.time), last_id, iso_utc(at), channel))

    def passed(self, channel: str, cursor: Cursor) -> None:
        self._write(f"UPDATE {CHANNEL_TABLE} SET log = ?, position = ?, time = ? WHERE channel = ?",
                    (cursor.log, cursor.position, _text(cursor.time), channel))

    def failed(self, channel: str, attempts: int, error: str) -> None:
        self._write(f"UPDATE {CHANNEL_TABLE} SET attempts = ?, lastError = ? WHERE channel = ?",
                    (attempts, error, channel))

    def flag(self, key: str) -> str | None:
        with self._lock:
            row = self._connection.execute(f"SELECT value FROM {FLAG_TABLE} WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_flag(self, key: str, value: str | None) -> None:
        if value is None:
            self._write(f"DELETE FROM {FLAG_TABLE} WHERE key = ?", (key,))
        else:
            self._write(f"INSERT OR REPLACE INTO {FLAG_TABLE} (key, value) VALUES (?, ?)", (key, value))

    def close(self) -> None:
        """Later writes are dropped: a delivery that lands after the notifier stopped is not recorded, so the
        next start sends it again (the one repeat a stop allows)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._connection.close()
                self._owner.release()

    def _write(self, sql: str, parameters: tuple[object, ...]) -> None:
        with self._lock:
            if self._closed:
                return
            try:
                with write_transaction(self._connection):
                    self._connection.execute(sql, parameters)
            except sqlite3.Error as error:  # a full disk, a file removed: the notifier cannot keep its promise
                raise StoreError(f"{self.path}: cannot record the notifier's progress: {error}") from None


def _text(moment: float | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _time(text: str | None) -> float | None:
    return None if text is None else parse_iso(text)

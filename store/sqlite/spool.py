"""A prober's spool: messages that NATS has not acknowledged yet, kept in order in a bounded SQLite file.

While the cluster is unreachable the prober's probes wait here and go out in order once it is back; a prober that
restarts sends what its last run left first. Bounded: past `capacity` messages the oldest are dropped (and counted),
so an outage longer than the spool can hold costs its oldest probes, never the prober's disk.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.schema import connect, write_transaction

SpooledMessage = tuple[int, str, str, bytes]
"""(spool id, subject, message id, payload)"""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    messageId TEXT NOT NULL,
    payload BLOB NOT NULL
)"""


class ProbeSpool:
    """`push` messages, `peek` the oldest, `remove_through` what the cluster acknowledged. One thread at a time."""

    def __init__(self, path: str | Path, capacity: int) -> None:
        self.path = Path(path)
        self.capacity = capacity
        self.dropped = 0
        if not self.path.parent.exists():
            raise StoreError(f"{path}: directory {str(self.path.parent)!r} does not exist")
        try:
            self._connection = connect(self.path)
            self._connection.execute("PRAGMA journal_mode = WAL")
            self._connection.execute("PRAGMA synchronous = NORMAL")
            self._connection.execute(_SCHEMA)
            self.count = int(self._connection.execute("SELECT count(*) FROM spool").fetchone()[0])
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: cannot use as a spool: {error}") from None

    def push(self, messages: Sequence[tuple[str, str, bytes]]) -> None:
        if not messages:
            return
        with write_transaction(self._connection):
            self._connection.executemany("INSERT INTO spool (subject, messageId, payload) VALUES (?, ?, ?)",
                                         messages)
            self.count += len(messages)
            over = self.count - self.capacity
            if over > 0:
                self._connection.execute(
                    "DELETE FROM spool WHERE id IN (SELECT id FROM spool ORDER BY id LIMIT ?)", (over,))
                self.count -= over
                self.dropped += over

    def peek(self, limit: int) -> list[SpooledMessage]:
        rows = self._connection.execute(
            "SELECT id, subject, messageId, payload FROM spool ORDER BY id LIMIT ?", (limit,)).fetchall()
        return [(int(i), str(s), str(m), bytes(p)) for i, s, m, p in rows]

    def remove_through(self, spool_id: int) -> None:
        with write_transaction(self._connection):
            removed = self._connection.execute("DELETE FROM spool WHERE id <= ?", (spool_id,)).rowcount
        self.count -= removed

    def close(self) -> None:
        self._connection.close()

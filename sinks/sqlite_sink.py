"""The SQLite event store's writer: probes and alert transitions in, committed rows out.

One writer thread owns the connection. Probe rows are written in batched
transactions at least every `flush_interval` seconds; an alert transition is
committed at once, with whatever probes came before it. A crash or kill loses
at most the probes since the last commit and never leaves the file unreadable
(WAL journal).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from domain.events import AlertTransition, Probe
from store.schema import ALERT_COLUMNS, PROBE_COLUMNS, alert_row, open_store, probe_row, write_transaction

_STOP = object()


class SqliteEventStore:
    """Appends events from any thread; `close` flushes and waits for the writer."""

    def __init__(self, path: str | Path, flush_interval: float = 1.0,
                 on_error: Callable[[Exception], None] | None = None) -> None:
        self.path = Path(path)
        self.flush_interval = flush_interval
        self.on_error = on_error
        self._connection = open_store(self.path)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.rows_written = 0
        self.commits = 0
        self._writer = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._writer.start()

    def append_probe(self, probe: Probe) -> None:
        self._queue.put(probe)

    def append_transition(self, transition: AlertTransition) -> None:
        self._queue.put(transition)

    def close(self) -> None:
        if self._writer.is_alive():
            self._queue.put(_STOP)
            self._writer.join()
        self._connection.close()

    def _run(self) -> None:
        probes: list[Probe] = []
        transitions: list[AlertTransition] = []
        next_flush = time.monotonic() + self.flush_interval
        stopping = False
        while not stopping:
            try:
                item = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                item = None
            if item is _STOP:
                stopping = True
            elif isinstance(item, Probe):
                probes.append(item)
            elif isinstance(item, AlertTransition):
                transitions.append(item)
            if stopping or transitions or time.monotonic() >= next_flush:
                self._write(probes, transitions)
                probes, transitions = [], []
                next_flush = time.monotonic() + self.flush_interval

    def _write(self, probes: list[Probe], transitions: list[AlertTransition]) -> None:
        if not probes and not transitions:
            return
        try:
            with write_transaction(self._connection):
                self._connection.executemany(
                    f"INSERT INTO website_monitoring ({PROBE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    [probe_row(p) for p in probes])
                self._connection.executemany(
                    f"INSERT INTO website_alerts ({ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    [alert_row(t) for t in transitions])
            self.rows_written += len(probes) + len(transitions)
            self.commits += 1
        except sqlite3.Error as error:
            if self.on_error is None:
                raise
            self.on_error(error)


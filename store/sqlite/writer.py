"""The SQLite log written: probes and alert transitions in, committed rows out, on one writer thread.

`SqliteEventLog` is the one owner of a monitor's database path: the writer thread and its connection, a
read-only reader for the monitor's own past (a restart), and the retention rounds that prune old probes.
Probe rows are written in batched transactions at least every `flush_interval` seconds; an alert
transition is committed at once, with whatever probes came before it. A crash or kill loses at most the
probes since the last commit and never leaves the file unreadable (WAL journal).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from pathlib import Path

from reactivex import Observable, abc
from reactivex.subject import Subject

from monitoringapp.domain.events import AlertTransition, Probe, ProbeColumns
from monitoringapp.store.log import Cursor, Page
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.retention import start_retention
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing, write_transaction

_STOP = object()


class SqliteEventLog:
    """`EventLog` on the SQLite file at `path`: appends from any thread, reads the monitor's own past.

    Opening checks the file before writing anything and migrates it to the current schema (StoreError if
    it cannot be used). `errors` says, one line each, what went wrong after that (a full disk); `close`
    flushes and waits for the writer.
    """

    def __init__(self, path: str | Path, flush_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.flush_interval = flush_interval
        self._connection = open_for_writing(self.path)
        self._reader = SqliteLogReader(self.path, busy_timeout=5.0)
        self._errors: Subject[str] = Subject()
        self._retention: float | None = None
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.rows_written = 0
        self.commits = 0
        self._writer = threading.Thread(target=self._run, name="sqlite-writer", daemon=True)
        self._writer.start()

    @property
    def errors(self) -> Observable[str]:
        """One line per failure after opening (writes, retention), as it happens."""
        return self._errors

    # -- LogWriter ------------------------------------------------------------------------------------

    def append_probe(self, probe: Probe) -> None:
        self._queue.put(probe)

    def append_transition(self, transition: AlertTransition) -> None:
        self._queue.put(transition)

    def set_retention(self, seconds: float | None) -> None:
        self._retention = seconds

    def start_retention(self, scheduler: abc.SchedulerBase) -> abc.DisposableBase:
        """Prune probes older than the retention in force, in short batches on `scheduler`, until disposed."""
        return start_retention(self.path, lambda: self._retention, scheduler, self._errors.on_next)

    def close(self) -> None:
        if self._writer.is_alive():
            self._queue.put(_STOP)
            self._writer.join()
        self._connection.close()
        self._reader.close()

    # -- LogReader (the monitor's own past) ------------------------------------------------------------

    def probes_since(self, since: float | None, hosts: Collection[str] | None = None) -> Page[Probe]:
        return self._reader.probes_since(since, hosts)

    def probes_after(self, cursor: Cursor, hosts: Collection[str] | None = None) -> Page[Probe]:
        return self._reader.probes_after(cursor, hosts)

    def transitions_since(self, since: float | None,
                          hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        return self._reader.transitions_since(since, hosts)

    def transitions_after(self, cursor: Cursor, hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        return self._reader.transitions_after(cursor, hosts)

    def last_transitions(self, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
        return self._reader.last_transitions(hosts)

    def probe_history(self, since: float, before: float, hosts: Collection[str] | None = None,
                      rows: int = 20_000) -> Iterator[tuple[ProbeColumns, ...]]:
        return self._reader.probe_history(since, before, hosts, rows)

    def schema_version(self) -> int:
        return self._reader.schema_version()

    # -- the writer thread -----------------------------------------------------------------------------

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
                insert_events(self._connection, probes, transitions)
            self.rows_written += len(probes) + len(transitions)
            self.commits += 1
        except sqlite3.Error as error:
            self._errors.on_next(f"error: {self.path}: {error}")

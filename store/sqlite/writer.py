"""The SQLite log written: probes and alert transitions in, committed rows out, on one writer thread.

`SqliteEventLog` is the one owner of a monitor's database path: the writer thread and its connection, the
lock that keeps a second writer out (`lock`), a read-only reader for the monitor's own past (a restart),
and the retention rounds that prune old probes.
Probe rows are written in batched transactions every `flush_interval` seconds; an alert transition is
committed at once, with whatever probes came before it. The writes and their times are the log's scheduler's: its
own thread by default, a virtual one in tests. Each batch of probes is counted into
the rollups (`rollups`) in the transaction that appends it; a file without rollups gets them rebuilt from
its raw probes when it is opened. A crash or kill loses at most the probes since the last commit and never
leaves the file unreadable (WAL journal). A database deleted or replaced while the writer runs (its rows would
go to a file nobody can open) is noticed within a second or so and said once on `lost`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable
from reactivex.internal.exceptions import DisposedException
from reactivex.scheduler import EventLoopScheduler
from reactivex.scheduler.periodicscheduler import PeriodicScheduler
from reactivex.subject import Subject

from monitoringapp.domain.events import AlertTransition, LastOutcomes, Probe, ProbeColumns
from monitoringapp.operators.rollup import Rollup
from monitoringapp.store.log import Cursor, Entry, LogLost, Page
from monitoringapp.store.sqlite.lock import WriterLock
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.retention import start_retention
from monitoringapp.store.sqlite.rollups import (
    DEFAULT_HOUR_KEEP,
    OpenRollups,
    rebuild,
    repair_hours_left_open,
    rollups_missing,
)
from monitoringapp.store.sqlite.schema import (
    check_for_writing,
    insert_events,
    is_busy,
    is_full,
    open_for_writing,
    unusable,
    write_transaction,
)

# How often the writer makes sure its path still leads to the file it writes.
IDENTITY_CHECK_EVERY = 1.0


class SqliteEventLog:
    """`EventLog` on the SQLite file at `path`: appends from any thread, reads the monitor's own past.

    Opening checks the file before writing anything, takes the writer's lock (StoreError naming the
    process that holds it) and migrates the file to the current schema (StoreError if it cannot be used).
    `errors` says, one line each, what went wrong after that (a full disk); `lost`, that the file was
    deleted or replaced; `close` flushes, waits for the writer and lets go of the lock. The writes run on
    `scheduler` (the flushes and the checks of the path at its times): by default the log's own thread.
    """

    held_at_most = 300_000
    """Probes kept in memory, oldest dropped first, while the database is too busy to take them (about 50 MB; 5
    minutes of 1,000 sites at 1 s): a database held for long must not take the monitor's memory with it."""

    def __init__(self, path: str | Path, flush_interval: float = 1.0,
                 rebuild_progress: Callable[[int, int], None] | None = None, busy_timeout: float = 5.0,
                 scheduler: PeriodicScheduler | None = None) -> None:
        self.path = Path(path)
        self.flush_interval = flush_interval
        check_for_writing(self.path)  # a refused file gets no lock file beside it either
        self._lock = WriterLock.acquire(self.path)
        try:
            self._connection = open_for_writing(self.path, timeout=busy_timeout)
            status = os.stat(self.path)
            missing = rollups_missing(self._connection)
            self.rebuilt_probes = rebuild(self._connection, rebuild_progress) if missing else 0
            """Raw probes the rollups were rebuilt from at opening (0: they were there); `rebuild_progress(done,
            total)` is told how far that is."""
            if self._lock.after_a_lost_writer:  # else each hour row was written whole (0.1 s at 1,000 sites)
                repair_hours_left_open(self._connection)
        except sqlite3.DatabaseError as error:  # another writer took the file after the migration, say
            self._connection.close()
            self._lock.release()
            raise unusable(self.path, error) from None
        except BaseException:
            self._lock.release()
            raise
        self._identity = (status.st_dev, status.st_ino)
        self._errors: Subject[str] = Subject()
        self._reader = SqliteLogReader(self.path, busy_timeout=5.0, warn=self._errors.on_next)
        self._lost: Subject[LogLost] = Subject()
        self._retention: float | None = None
        self._rollups = OpenRollups()  # the writer's own
        self._rollup_retention = DEFAULT_HOUR_KEEP
        # Probes wait in a deque that wakes nobody; the writer takes them all at its next flush. Waking it for
        # each probe (a queue it blocks on) cost a thread switch per probe: measured, half the writer's CPU.
        # A transition does wake it: it is committed at once, with the probes before it.
        self._probes: deque[Probe] = deque()
        self._transitions: deque[AlertTransition] = deque()
        # The writer's alone: a batch the database was too busy to take (a VACUUM beside it), written next.
        self._held: list[Probe] = []
        self._held_transitions: list[AlertTransition] = []
        self._failing: str | None = None  # why batches are held ("busy", "full"): said once, and when they go in
        self._gone = False  # the path no longer leads to this file (said once on `lost`)
        self.rows_written = 0
        self.commits = 0
        self._awaiting_first_probe = True
        self._thread: threading.Thread | None = None

        def writer_thread(target: Callable[[], None]) -> threading.Thread:
            self._thread = threading.Thread(target=target, name="sqlite-writer", daemon=True)
            return self._thread

        # Every write runs on `scheduler`, one at a time (the connection is the writer's alone).
        self._own_thread: EventLoopScheduler | None = None
        if scheduler is None:
            scheduler = self._own_thread = EventLoopScheduler(thread_factory=writer_thread)
        self._scheduler = scheduler
        self._closed = False
        self._rounds = CompositeDisposable(
            self._scheduler.schedule_periodic(flush_interval, lambda _: self._flush()),
            self._scheduler.schedule_periodic(IDENTITY_CHECK_EVERY, lambda _: self._check_identity()))

    @property
    def errors(self) -> Observable[str]:
        """One line per failure after opening (writes, retention), as it happens."""
        return self._errors

    @property
    def lost(self) -> Observable[LogLost]:
        """Once, if the database is deleted or replaced under the writer: what it writes now is lost."""
        return self._lost

    # -- LogWriter ------------------------------------------------------------------------------------

    def append_probe(self, probe: Probe) -> None:
        self._probes.append(probe)
        if self._awaiting_first_probe:
            # The first is committed at once, not at the next flush (up to `flush_interval` on): a monitor started
            # again shows every reader of the log (the web page, `-p`, a notifier) that it probes again as soon as
            # it does (a restart of 1,000 sites: its first probe sent at 0.9 s, stored at 2.1-2.3 s).
            self._awaiting_first_probe = False
            self._flush_soon()

    def append_transition(self, transition: AlertTransition) -> None:
        self._transitions.append(transition)
        self._flush_soon()

    def _flush_soon(self) -> None:
        if not self._closed:
            with contextlib.suppress(DisposedException):  # closed meanwhile: the last flush took it, or nothing will
                self._scheduler.schedule(lambda _scheduler, _state: self._flush())

    def set_retention(self, seconds: float | None) -> None:
        self._retention = seconds

    def set_rollup_retention(self, seconds: float) -> None:
        self._rollup_retention = seconds

    def start_retention(self, scheduler: abc.SchedulerBase) -> abc.DisposableBase:
        """Prune probes older than the retention in force, in short batches on `scheduler`, and rollups older
        than theirs, until disposed."""
        return start_retention(self.path, lambda: self._retention, scheduler, self._errors.on_next,
                               latest_rollup_retention=lambda: self._rollup_retention)

    def close(self) -> None:
        """Writes what waits, stops the writer, and lets go of the file and its lock."""
        if self._closed:
            return
        self._closed = True
        self._rounds.dispose()
        if self._own_thread is None:
            self._flush(last=True)  # an injected (virtual) scheduler runs nothing unless advanced: here, then
        else:
            flushed = threading.Event()

            def last(_scheduler: abc.SchedulerBase, _state: object) -> None:
                try:
                    self._flush(last=True)
                finally:
                    flushed.set()

            self._own_thread.schedule(last)
            # A bug that ended the writer's thread (its traceback shown) must not hang the monitor's exit too.
            while not flushed.wait(0.5) and self._thread is not None and self._thread.is_alive():
                pass
            self._own_thread.dispose()
        # The reader first: the last connection to close checkpoints the WAL into the file and removes the
        # -wal and -shm files, and only the writer's may.
        self._reader.close()
        self._connection.close()
        self._lock.release()

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

    def transition_entries_after(self, cursor: Cursor, limit: int = 500) -> Page[Entry[AlertTransition]]:
        return self._reader.transition_entries_after(cursor, limit)

    def transitions_end(self) -> Cursor:
        return self._reader.transitions_end()

    def latest_probe_time(self) -> float | None:
        return self._reader.latest_probe_time()

    def last_stored_probe_time(self) -> float | None:
        return self._reader.last_stored_probe_time()

    def first_probe_time_after(self, moment: float) -> float | None:
        return self._reader.first_probe_time_after(moment)

    def last_transitions(self, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
        return self._reader.last_transitions(hosts)

    def rollups(self, since: float, until: float, step: float, hosts: Collection[str] | None = None, *,
                detail: bool = False) -> Page[Rollup]:
        return self._reader.rollups(since, until, step, hosts, detail=detail)

    def probes_between(self, host: str, since: float, until: float, limit: int) -> list[Probe]:
        return self._reader.probes_between(host, since, until, limit)

    def last_outcomes(self, before: float, hosts: Collection[str] | None = None) -> dict[str, LastOutcomes]:
        return self._reader.last_outcomes(before, hosts)

    def sites(self) -> frozenset[str]:
        return self._reader.sites()

    def probe_history(self, since: float, before: float, hosts: Collection[str] | None = None,
                      rows: int = 20_000) -> Iterator[tuple[ProbeColumns, ...]]:
        return self._reader.probe_history(since, before, hosts, rows)

    def schema_version(self) -> int:
        return self._reader.schema_version()

    # -- the writer (on its scheduler) ---------------------------------------------------------------------

    def _flush(self, last: bool = False) -> None:
        """Commit the transitions and the probes waiting, and any a busy database held back."""
        # The transitions first: every probe appended before one of them is in the probes' deque by now.
        waiting = self._transitions
        transitions = self._held_transitions + [waiting.popleft() for _ in range(len(waiting))]
        probes = self._held + [self._probes.popleft() for _ in range(len(self._probes))]
        if self._write(probes, transitions, last=last):
            self._held, self._held_transitions = [], []
        else:
            self._held, self._held_transitions = self._bounded(probes), transitions

    def _bounded(self, held: list[Probe]) -> list[Probe]:
        """`held` without its oldest probes past `held_at_most`, said when any go."""
        dropped = len(held) - self.held_at_most
        if dropped <= 0:
            return held
        self._errors.on_next(f"error: {self.path}: still {self._failing}; the {dropped:,} oldest probes waiting "
                             f"for it are dropped (at most {self.held_at_most:,} wait in memory)")
        return held[dropped:]

    def _check_identity(self) -> None:
        """Said once on `lost` when the path no longer leads to the file this writer writes."""
        if self._gone:
            return
        try:
            status = os.stat(self.path)
            here = (status.st_dev, status.st_ino) == self._identity
        except OSError:
            here = False
        if not here:
            self._gone = True
            self._lost.on_next(LogLost(
                f"{self.path} was deleted or replaced while this monitor wrote to it; stopped so that no probe "
                "is lost without a word (start it again to write a new database)"))

    def _write(self, probes: list[Probe], transitions: list[AlertTransition], last: bool = False) -> bool:
        """Commit one batch; False when the database stayed busy past the timeout, or the disk is full, and the
        batch is to be tried again with the next one (said once, and once when batches go in again); True when it
        is done with, written or failed (a stopping writer's last batch is not kept: said with what it held)."""
        if not probes and not transitions and not last:
            return True
        try:
            with write_transaction(self._connection):
                insert_events(self._connection, probes, transitions)
                self._rollups.add(self._connection, probes)
                if last:
                    self._rollups.flush(self._connection)  # every open hour's sketch exact
            self.rows_written += len(probes) + len(transitions)
            self.commits += bool(probes or transitions)
        except sqlite3.Error as error:
            # The rolled-back batch may be counted in the open buckets already: they are read back from their
            # rows when next touched, so they count what was committed and nothing else.
            self._rollups = OpenRollups()
            passing = _passing(error)
            if last or passing is None:
                lost = (f"; {len(probes):,} probe(s) and {len(transitions):,} alert row(s) not stored"
                        if last and (probes or transitions) else "")
                self._errors.on_next(f"error: {self.path}: {error}{lost}")
                return True
            if passing != self._failing:  # said once until a batch goes in: a full disk fails every flush
                self._errors.on_next(f"error: {self.path}: {error}; the batch is kept and tried again")
            self._failing = passing
            return False
        if self._failing is not None:
            self._failing = None
            self._errors.on_next(f"{self.path}: written again; the {len(probes):,} probe(s) and "
                                 f"{len(transitions):,} alert row(s) waiting are stored")
        return True


def _passing(error: sqlite3.Error) -> str | None:
    """What keeps a write that failed so from going in for now, "busy" (another connection holds the database)
    or "full" (the disk: space may be freed, a volume grown); None for an error that waiting does not mend."""
    if is_busy(error):
        return "busy"
    return "full" if is_full(error) else None

"""A restart's past, read back from the log in the background while the clocks already tick: the probes of the
longest window, and what the log says of each site from before them (`OutcomesPast`).

The log is read newest first, a chunk at a time on a background scheduler, packed there (13 bytes a probe);
each chunk is handed to the clock, and the reading runs at most a few chunks ahead of what the clock has
taken, so little is in memory beside the windows however long the past (an hour of 1,000 sites at 1 s is
3.6 million probes) and a busy clock does not stall the reading.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.disposable import Disposable

from monitoringapp.domain.events import OutcomesBefore, PastChunk, ProbeColumns
from monitoringapp.store.log import LogReader, LogUnavailable, PastReader, StoreError

READ_AHEAD = 2
"""Chunks read and not yet taken by the clock, at most: one being taken while the next is read. Reading further
ahead took more of a busy process (at 1,000 sites: more skipped ticks) for a fill no faster at 500."""
CHUNK_ROWS = 100_000
"""Rowids a chunk spans (every site's probes in that stretch of the log): about 100 probes of each of 1,000 sites, a
few milliseconds of the clock's time to take in. Much of a chunk's cost in this process is per site, not per probe
(its columns unpacked, handed to its window): an hour of 1,000 sites read in chunks of 20,000 took 2.7-3.2 s of this
process's CPU, beside the probes, and 1.5-1.8 s in chunks of 100,000 (`SqliteLogReader.probe_history` into
`SiteWindows`, the reading child's pages). The child reading them holds about 8 MB more (38 MB at its peak)."""


@dataclass(frozen=True, slots=True)
class LoggedPast:
    """Where a restart's past is: the probes of `hosts` with `since` < timestamp <= `before` in `log`."""

    log: PastReader
    hosts: frozenset[str]
    since: float
    before: float
    rows: int = CHUNK_ROWS

    def chunks(self, background: abc.SchedulerBase, clock: abc.SchedulerBase,
               ahead: int = READ_AHEAD) -> Observable[PastChunk]:
        """The past, newest first, in chunks read on `background` and delivered on `clock`, at most `ahead`
        read and not yet taken by the clock at any time; completes once all is read (or at once if the log
        cannot be read: the windows then fill with live probes alone).

        ```text
        background:  [read c1][read c2]            [read c3]          (ahead=2: c3 waits until c1 is taken)
        clock:                  --c1(taken)--c2(taken)----------c3--|
        ```

        Example: ``LoggedPast(log, hosts, now - 3600, now - 120).chunks(EventLoopScheduler(), clock)``
        """

        # Hand-written: no stock operator bounds how far one scheduler may run ahead of another. Reading a
        # chunk only after the clock took the last one would make each wait a whole turn of a busy clock
        # (half a second at 1,000 sites); reading without a bound could hold the whole past twice in memory.
        def subscribe(observer: abc.ObserverBase[PastChunk], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            reading = _Reading(self)
            lock = threading.Lock()
            state = _Flow()

            def read(_: abc.SchedulerBase, __: Any = None) -> None:  # on `background`
                if state.disposed:
                    return
                try:
                    chunk = reading.next_chunk()
                except Exception as error:  # a bug, not a log that cannot be read: the stream fails with it
                    clock.schedule(fail, error)
                    return
                with lock:
                    if chunk is None:
                        state.done = True
                    else:
                        state.waiting += 1
                    state.reading = again = chunk is not None and state.waiting < ahead
                clock.schedule(take, chunk)
                if again:
                    background.schedule(read)

            def take(_: abc.SchedulerBase, chunk: PastChunk | None) -> None:  # on `clock`
                if state.disposed:
                    return
                if chunk is None:
                    observer.on_completed()
                    return
                observer.on_next(chunk)
                with lock:
                    state.waiting -= 1
                    resume = not state.reading and not state.done and state.waiting < ahead
                    if resume:
                        state.reading = True
                if resume:
                    background.schedule(read)

            def fail(_: abc.SchedulerBase, error: Exception | None) -> None:  # on `clock`
                if not state.disposed and error is not None:
                    observer.on_error(error)

            def close(_: abc.SchedulerBase, __: Any = None) -> None:  # on `background`, never during a read
                reading.close()  # a log reading in a child process stops it now

            def dispose() -> None:
                state.disposed = True
                background.schedule(close)

            background.schedule(read)
            return Disposable(dispose)

        return Observable(subscribe)


@dataclass(frozen=True, slots=True)
class OutcomesPast:
    """Where each site's last success, last failure and failing run from before a restart's past are: those of
    `hosts` up to `before` in `log`."""

    log: LogReader
    hosts: frozenset[str]
    before: float

    def read(self, background: abc.SchedulerBase, clock: abc.SchedulerBase) -> Observable[OutcomesBefore]:
        """The outcomes, read once on `background` (not before the clocks start: at 1,000 sites it takes a few
        tenths of a second) and delivered on `clock`; nothing if the log cannot be read (the windows then say
        only what the probes they hold say).

        ```text
        background:  [read]
        clock:       -------OutcomesBefore|
        ```

        Example: ``OutcomesPast(log, hosts, now - 3600).read(EventLoopScheduler(), clock)``
        """

        def outcomes() -> OutcomesBefore:
            return OutcomesBefore(self.before, tuple(self.log.last_outcomes(self.before, self.hosts).values()))

        read: Observable[OutcomesBefore] = reactivex.from_callable(outcomes, background)
        return read.pipe(ops.catch(_nothing_if_unreadable), ops.observe_on(clock))


def _nothing_if_unreadable(error: Exception, _: Observable[OutcomesBefore]) -> Observable[OutcomesBefore]:
    if isinstance(error, LogUnavailable | StoreError):
        return reactivex.empty()
    return reactivex.throw(error)  # a bug: the stream fails with it


class _Flow:
    """How the reading stands: chunks read and not yet taken, a read under way, all read, disposed."""

    __slots__ = ("disposed", "done", "reading", "waiting")

    def __init__(self) -> None:
        self.waiting = 0
        self.reading = True  # the first read is scheduled at subscription
        self.done = False
        self.disposed = False


class _Reading:
    """One pass over the stored past, newest first, counting as it goes."""

    __slots__ = ("_chunks", "_past", "_probes")

    def __init__(self, past: LoggedPast) -> None:
        self._past = past
        self._chunks: Iterator[tuple[ProbeColumns, ...]] | None = None
        self._probes = 0

    def next_chunk(self) -> PastChunk | None:
        past = self._past
        try:
            if self._chunks is None:
                self._chunks = past.log.probe_history(past.since, past.before, past.hosts, past.rows)
            sites = next(self._chunks, None)
        except (LogUnavailable, StoreError):
            return None  # a log that cannot be read now: start without the rest of the past
        if sites is None:
            return None
        self._probes += sum(len(site) for site in sites)
        reached = min((site.timestamps[0] for site in sites if len(site)), default=past.since)
        return PastChunk(sites, self._probes, reached, past.since, past.before)

    def close(self) -> None:
        """Ends the reading at once (a generator's `finally` runs now, not whenever it is collected)."""
        if isinstance(self._chunks, Generator):
            self._chunks.close()

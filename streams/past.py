"""A restart's past, read back from the log in the background while the clocks already tick.

The log is read newest first, a chunk at a time on a background scheduler; each chunk is handed to the clock,
and the next one is read only once the clock has taken it, so at most one chunk is in memory beside the
windows however long the past (an hour of 1,000 sites at 1 s is 3.6 million probes).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeGuard

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.domain.events import PastChunk, ProbeColumns
from monitoringapp.operators.typed import keep
from monitoringapp.store.log import LogReader, LogUnavailable, StoreError

CHUNK_ROWS = 20_000
"""Probes per chunk: a millisecond or so of the clock's time to take in (the reading thread packs them), and
about 5 MB while it is read."""


@dataclass(frozen=True, slots=True)
class LoggedPast:
    """Where a restart's past is: the probes of `hosts` with `since` < timestamp <= `before` in `log`."""

    log: LogReader
    hosts: frozenset[str]
    since: float
    before: float
    rows: int = CHUNK_ROWS

    def chunks(self, background: abc.SchedulerBase, clock: abc.SchedulerBase) -> Observable[PastChunk]:
        """The past, newest first, in chunks read on `background` and delivered on `clock`, each read after
        the one before has been delivered; completes once all is read (or at once if the log cannot be read:
        the windows then fill with live probes alone).

        ```text
        background:  [read c1]            [read c2]            [read c3]
        clock:                 --c1(taken)-          --c2(taken)-          --c3--|
        ```

        Example: ``LoggedPast(log, hosts, now - 3600, now - 120).chunks(EventLoopScheduler(), clock)``
        """

        def factory(_: abc.SchedulerBase | None) -> Observable[PastChunk]:
            reading = _Reading(self)

            def read_one() -> Observable[PastChunk | None]:
                # The next chunk is read on `background`; its delivery on `clock` completes this round, and
                # `repeat` starts the next round only then: that is the back-pressure.
                return reactivex.start(reading.next_chunk, background).pipe(ops.observe_on(clock))

            rounds: Observable[PastChunk | None] = reactivex.defer(lambda _: read_one()).pipe(ops.repeat())
            return rounds.pipe(ops.take_while(_is_chunk), keep(_is_chunk))

        return reactivex.defer(factory)


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


def _is_chunk(chunk: PastChunk | None) -> TypeGuard[PastChunk]:
    return chunk is not None  # None: all is read

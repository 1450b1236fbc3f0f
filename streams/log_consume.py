"""A consumer's batches as a stream: a blocking fetch in, each batch it returns out, on a thread of its own."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.store.log import LogUnavailable
from monitoringapp.streams.log_tail import UnavailableReasons

T = TypeVar("T")


def consumed_batches(fetch: Callable[[], Sequence[T]], scheduler: abc.SchedulerBase, retry_after: float = 0.5,
                     waiting: Callable[[str], None] = lambda _: None) -> Observable[Sequence[T]]:
    """Every batch `fetch` returns, fetched again and again on `scheduler` until disposed.

    `fetch` waits a bounded while for messages and returns [] when none came: an empty batch is news too (the
    stream is idle). While the log is unavailable it is tried again every `retry_after` seconds, and `waiting`
    is told each distinct reason once while it lasts, and again once a fetch has come through in between (an
    evaluator started before any prober, or pointed at a server without JetStream, says why it idles; one whose
    cluster goes away twice says so twice). A log that cannot be used ends the stream with its error.

    Example: ``consumed_batches(lambda: consumer.fetch(256, 0.5), EventLoopScheduler(), waiting=print)``
    """
    reasons = UnavailableReasons()

    def fetch_or_wait(_: object) -> Sequence[T]:
        try:
            batch = fetch()
        except LogUnavailable as unavailable:
            reason = reasons.news(unavailable)
            if reason is not None:
                waiting(reason)
            time.sleep(retry_after)  # on the consumer's own thread, between two fetches
            return []
        reasons.read()
        return batch

    # from_iterable loops in one scheduled action, checking for disposal between items: the blocking fetch
    # paces it, and disposing ends it at the next fetch.
    ticks: Observable[None] = reactivex.from_iterable(itertools.repeat(None), scheduler)
    return ticks.pipe(ops.map(fetch_or_wait))

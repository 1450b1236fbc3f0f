"""A consumer's batches: fetched again and again, and while the log cannot be read, why, each reason once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

from reactivex import operators as ops
from reactivex.scheduler import EventLoopScheduler

from monitoringapp.store.log import LogUnavailable
from monitoringapp.streams.log_consume import consumed_batches


def fetching(results: Sequence[Sequence[int] | str]) -> Callable[[], Sequence[int]]:
    """A fetch that gives `results` in turn: a batch, or a reason the log cannot be read (raised)."""
    fetches: Iterator[Sequence[int] | str] = iter(results)

    def fetch() -> Sequence[int]:
        result = next(fetches)
        if isinstance(result, str):
            raise LogUnavailable(result)
        return result

    return fetch

def test_each_reason_the_log_cannot_be_read_is_told_once_and_the_batches_after_it_come_through() -> None:
    fetch = fetching(["no stream yet", "no stream yet", "", "no JetStream answered", "no stream yet", [1, 2], [], [3]])

    told: list[str] = []
    batches: list[Sequence[int]] = []
    done = threading.Event()
    consumer = EventLoopScheduler()  # the consumer's own thread, as in an evaluator
    try:
        consumed_batches(fetch, consumer, retry_after=0.0, waiting=told.append).pipe(ops.take(8)).subscribe(
            batches.append, on_completed=done.set)
        assert done.wait(5), "the eight fetches did not come"
    finally:
        consumer.dispose()
    assert told == ["no stream yet", "no JetStream answered"]  # an empty reason (a short lock) never
    assert batches == [[], [], [], [], [], [1, 2], [], [3]]  # a failed fetch is an empty batch: the consumer idles


def test_a_reason_is_told_again_when_the_log_fails_so_again_after_it_was_read() -> None:
    # NATS away, back (a batch read), away again the same way: the second outage is news too.
    fetch = fetching(["unreachable", "unreachable", [1], [], "unreachable", [2]])

    told: list[str] = []
    done = threading.Event()
    consumer = EventLoopScheduler()
    try:
        consumed_batches(fetch, consumer, retry_after=0.0, waiting=told.append).pipe(ops.take(6)).subscribe(
            on_completed=done.set)
        assert done.wait(5), "the six fetches did not come"
    finally:
        consumer.dispose()
    assert told == ["unreachable", "unreachable"]

"""`map_on`: items mapped on a pool concurrently, results back on the clock in the order they finish (those that
finished while the clock was busy in one batch), completion after the last; in virtual time, with the pool a second
virtual scheduler so "in flight" is exact."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from reactivex.scheduler import EventLoopScheduler, HistoricalScheduler, ImmediateScheduler, ThreadPoolScheduler
from reactivex.subject import Subject

from monitoringapp.streams.concurrent import map_on

START = datetime(2026, 1, 1, tzinfo=UTC)


def test_results_that_finish_before_the_clock_runs_come_in_one_batch_and_completion_waits_for_the_last() -> None:
    clock, io = HistoricalScheduler(START), HistoricalScheduler(START)
    source: Subject[int] = Subject()
    seen: list[object] = []
    source.pipe(map_on(io, clock)(lambda n: n * 10)).subscribe(seen.append, seen.append, lambda: seen.append("done"))
    source.on_next(1)
    source.on_next(2)
    source.on_completed()
    assert seen == []  # handed to io, nothing run yet
    io.advance_by(timedelta(seconds=1))  # both run; their results wait for the clock
    assert seen == []
    clock.advance_by(timedelta(seconds=1))
    assert seen == [(10, 20), "done"]


def test_a_result_that_finishes_while_the_clock_is_idle_goes_alone() -> None:
    clock, io = HistoricalScheduler(START), HistoricalScheduler(START)
    source: Subject[int] = Subject()
    seen: list[object] = []
    source.pipe(map_on(io, clock)(lambda n: n * 10)).subscribe(seen.append, seen.append, lambda: seen.append("done"))
    for n in (1, 2, 3):
        source.on_next(n)
        io.advance_by(timedelta(seconds=1))
        clock.advance_by(timedelta(seconds=1))
    assert seen == [(10,), (20,), (30,)]
    source.on_completed()
    assert seen[-1] == "done"


def test_with_a_gather_the_first_result_waits_exactly_that_long_and_those_finishing_meanwhile_come_with_it() -> None:
    clock, io = HistoricalScheduler(START), HistoricalScheduler(START)
    source: Subject[int] = Subject()
    seen: list[object] = []
    source.pipe(map_on(io, clock, gather=0.02)(lambda n: n * 10)).subscribe(
        lambda batch: seen.append((clock.now - START, batch)), seen.append, lambda: seen.append("done"))

    def finish(n: int) -> None:  # item n handed to io and run there, at the clock's present time
        source.on_next(n)
        io.advance_by(timedelta(seconds=1))

    ms = timedelta(milliseconds=1)
    finish(1)  # at 0: waits until 20 ms
    clock.advance_by(10 * ms)
    finish(2)  # at 10 ms, while 1 waits: comes with it
    clock.advance_by(9 * ms)
    assert seen == []
    clock.advance_by(1 * ms)
    assert seen == [(20 * ms, (10, 20))]
    finish(3)  # at 20 ms, the batch gone: waits alone until 40 ms
    clock.advance_by(19 * ms)
    assert seen == [(20 * ms, (10, 20))]
    clock.advance_by(1 * ms)
    assert seen == [(20 * ms, (10, 20)), (40 * ms, (30,))]
    source.on_completed()
    assert seen[-1] == "done"


def test_a_slow_item_holds_up_no_other_and_the_order_is_the_order_of_finishing() -> None:
    clock = HistoricalScheduler(START)
    io = ThreadPoolScheduler(max_workers=4)
    first_may_finish = threading.Event()
    source: Subject[int] = Subject()
    seen: list[int] = []
    done = threading.Event()

    def work(n: int) -> int:
        if n == 1:
            assert first_may_finish.wait(5.0)
        return n

    source.pipe(map_on(io, clock)(work)).subscribe(seen.extend, on_completed=done.set)
    for n in (1, 2, 3):
        source.on_next(n)
    source.on_completed()
    for _ in range(500):  # bounded: at most 5 s for the two quick items to come back
        clock.advance_by(timedelta(milliseconds=10))
        if len(seen) == 2:
            break
        threading.Event().wait(0.01)
    assert sorted(seen) == [2, 3] and not done.is_set()
    first_may_finish.set()
    for _ in range(500):
        clock.advance_by(timedelta(milliseconds=10))
        if done.is_set():
            break
        threading.Event().wait(0.01)
    assert seen[-1] == 1 and done.is_set()
    io.executor.shutdown(wait=True)


def test_a_mapper_that_raises_is_reported_by_the_pool_and_the_item_yields_nothing() -> None:
    clock = HistoricalScheduler(START)
    source: Subject[int] = Subject()
    seen: list[object] = []
    # An immediate pool raises to the caller; the probe pool reports it as a thread's exception instead.
    source.pipe(map_on(ImmediateScheduler(), clock)(lambda n: 1 // n)).subscribe(
        seen.append, seen.append, lambda: seen.append("done"))
    with pytest.raises(ZeroDivisionError):
        source.on_next(0)
    source.on_next(1)
    source.on_completed()
    clock.advance_by(timedelta(seconds=1))
    assert seen == [(1,), "done"]


def test_a_result_that_finishes_after_the_subscription_and_its_clock_are_disposed_asks_nothing_of_the_clock() -> None:
    # A monitor's stop: the graph is disposed, then its clock, then the prober is closed, which cuts an abandoned
    # probe at once; its result must not be handed to the disposed clock (a DisposedException traceback on stderr).
    clock = EventLoopScheduler()
    io = HistoricalScheduler(START)
    source: Subject[int] = Subject()
    seen: list[object] = []
    subscription = source.pipe(map_on(io, clock)(lambda n: n * 10)).subscribe(seen.append, seen.append)
    source.on_next(1)
    subscription.dispose()
    clock.dispose()
    io.advance_by(timedelta(seconds=1))  # raised DisposedException here, in the item's run
    assert seen == []

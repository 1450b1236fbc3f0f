"""`fixed_rate_ticks` and `grid_ticks` in virtual time: exact due times, no drift, late ticks dropped and counted,
clocks started, re-timed and stopped by key."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import reactivex
from reactivex import operators as ops
from reactivex.scheduler import HistoricalScheduler
from reactivex.testing import ReactiveTest, TestScheduler

from monitoringapp.domain.events import Stall
from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.streams.ticks import SPREAD_GROUP, Tick, clock_stalls, fixed_rate_ticks, grid_ticks
from monitoringapp.streams.wall_clock import WallClockScheduler

on_next = ReactiveTest.on_next


def test_ticks_are_due_from_subscription_every_period() -> None:
    scheduler = TestScheduler()
    result = scheduler.start(lambda: fixed_rate_ticks(3.5, scheduler), disposed=212)
    assert result.messages == [on_next(200, Tick(200.0)), on_next(203.5, Tick(203.5)), on_next(207, Tick(207.0)),
                               on_next(210.5, Tick(210.5))]


def test_first_after_delays_the_first_tick_and_keeps_the_grid() -> None:
    scheduler = TestScheduler()
    result = scheduler.start(lambda: fixed_rate_ticks(10, scheduler, first_after=10), disposed=235)
    assert result.messages == [on_next(210, Tick(210.0)), on_next(220, Tick(220.0)), on_next(230, Tick(230.0))]


def test_a_thousand_ticks_at_3_5_s_do_not_drift() -> None:
    scheduler = TestScheduler()
    result = scheduler.start(lambda: fixed_rate_ticks(3.5, scheduler), disposed=200 + 3.5 * 999 + 1)
    assert len(result.messages) == 1000
    assert [(m.time, m.value.value.due) for m in result.messages] == [(200 + 3.5 * n, 200 + 3.5 * n)
                                                                  for n in range(1000)]


def test_on_a_historical_clock_ticks_are_utc_epoch_seconds() -> None:
    origin = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    scheduler = HistoricalScheduler(origin)
    seen: list[tuple[float, float]] = []
    subscription = fixed_rate_ticks(0.1, scheduler).subscribe(
        lambda tick: seen.append((epoch_seconds(scheduler.now), tick.due)))
    scheduler.advance_by(timedelta(seconds=100))
    subscription.dispose()
    start = origin.timestamp()
    assert len(seen) == 1001
    # Due times are computed as start + n * period, never accumulated, so the last is exact.
    assert seen[-1][1] == start + 1000 * 0.1
    assert all(abs(at - due) < 1e-6 for at, due in seen)  # fired at their due time (µs clock)


def test_a_tick_a_whole_period_late_is_dropped_and_counted() -> None:
    scheduler = TestScheduler()
    def busy_clock(sched: object, _: object = None) -> None:
        scheduler.sleep(9.0)  # the clock thread is held from 208 to 217

    scheduler.schedule_absolute(208.0, busy_clock)
    result = scheduler.start(lambda: fixed_rate_ticks(3.5, scheduler), disposed=222)
    # 210.5 comes at 217, 6.5 s late: dropped, and the next tick says so; 214 is late by less than a
    # period and runs at once.
    assert result.messages == [on_next(200, Tick(200.0)), on_next(203.5, Tick(203.5)), on_next(207, Tick(207.0)),
                               on_next(217, Tick(214.0, missed=1)), on_next(217.5, Tick(217.5)),
                               on_next(221, Tick(221.0))]


def test_a_clock_stopped_for_the_told_seconds_or_more_is_told_as_it_runs_again_a_shorter_stop_is_not() -> None:
    # `kill -STOP` of -m for 90 s: 89 ticks skipped, said only as a count at its stop.
    scheduler = TestScheduler()

    def stopped(seconds: float) -> Callable[[object, object], None]:
        def hold(sched: object, _: object = None) -> None:
            scheduler.sleep(seconds)

        return hold

    scheduler.schedule_absolute(203.5, stopped(2.2))  # 204 missed, 205 late: a stop of 2.2 s, not told
    scheduler.schedule_absolute(210.5, stopped(90.2))  # 211 to 300 missed, the clock runs again at 300.7
    result = scheduler.start(lambda: clock_stalls(scheduler, 1.0, told=3.0), disposed=400)
    assert result.messages == [on_next(300.7, Stall(211.0, 300.0))]


def test_disposing_stops_the_ticks() -> None:
    scheduler = TestScheduler()
    seen: list[float] = []
    subscription = fixed_rate_ticks(1.0, scheduler, start=10.0).subscribe(lambda tick: seen.append(tick.due))
    scheduler.advance_to(12.5)
    subscription.dispose()
    scheduler.advance_to(20.0)
    assert seen == [10.0, 11.0, 12.0]


def test_grid_ticks_start_retime_and_stop_clocks_by_key_at_exact_times() -> None:
    scheduler = TestScheduler()
    changes = scheduler.create_hot_observable(
        on_next(201, [("a", 2.0), ("b", 3.0)]),
        on_next(205.5, [("b", None), ("c", 1.0), ("a", 2.0)]),  # b stops, c starts, a re-timed (same period)
        ReactiveTest.on_completed(209.2),
    )
    result = scheduler.start(lambda: changes.pipe(grid_ticks(scheduler, lambda period: period)), disposed=230)
    assert [(m.time, m.value.value) for m in result.messages if m.value.kind == "N"] == [
        (201, (2.0, Tick(201.0))), (201, (3.0, Tick(201.0))),
        (203, (2.0, Tick(203.0))), (204, (3.0, Tick(204.0))),
        (205, (2.0, Tick(205.0))),
        (205.5, (1.0, Tick(205.5))), (205.5, (2.0, Tick(205.5))),  # started in the order given, at once
        (206.5, (1.0, Tick(206.5))), (207.5, (2.0, Tick(207.5))), (207.5, (1.0, Tick(207.5))),  # a ticked last earlier
        (208.5, (1.0, Tick(208.5))),
    ]
    assert result.messages[-1].time == 209.2 and result.messages[-1].value.kind == "C"  # clocks stop with changes


def test_grid_ticks_on_a_historical_clock_fire_at_their_due_microsecond() -> None:
    origin = datetime(2026, 11, 24, 12, 0, 0, 123457, tzinfo=UTC)  # due times between two microseconds
    scheduler = HistoricalScheduler(origin)
    seen: list[tuple[float, float]] = []
    changes = reactivex.never().pipe(ops.start_with([("a", 0.37)]))  # the clock runs while changes go on
    subscription = changes.pipe(grid_ticks(scheduler, lambda period: period)).subscribe(
        lambda ticked: seen.append((epoch_seconds(scheduler.now), ticked[1].due)))
    scheduler.advance_by(timedelta(seconds=37))
    subscription.dispose()
    assert len(seen) == 101  # every tick once, none stuck at a microsecond that rounds below its due time
    assert all(abs(at - due) < 1e-6 for at, due in seen)


def test_grid_ticks_spread_many_clocks_started_at_once_over_their_first_second_in_groups() -> None:
    scheduler = TestScheduler()
    # 250 clocks, more than SPREAD_GROUP: 3 groups, a third of a second apart (the 0.5 s clock: of its period).
    many = [(n, 0.5 if n == 249 else 1.0) for n in range(250)]
    few = [(n, 2.0) for n in range(1000, 1000 + SPREAD_GROUP)]  # as many as SPREAD_GROUP: all at once
    changes = scheduler.create_hot_observable(on_next(201, many), on_next(300, few))
    result = scheduler.start(lambda: changes.pipe(grid_ticks(scheduler, lambda period: period)), disposed=300.5)
    ticks = [(m.time, m.value.value) for m in result.messages]
    # Each on its own grid, on time (to the microsecond the scheduler's clock counts).
    assert all(abs(at - tick.due) < 1e-6 and tick.missed == 0 for at, (_, tick) in ticks)
    first_second = [(period, tick.due) for at, (period, tick) in ticks if at < 202]
    group = [n * 3 // 250 for n in range(250)]  # 84, 83 and 83 clocks
    assert sorted(first_second) == sorted([(0.5, 201 + 2 / 3 * 0.5), (0.5, 201 + 2 / 3 * 0.5 + 0.5),
                                           *((1.0, 201 + group[n] / 3) for n in range(249))])
    # A group's clocks tick in one wake-up: 3 instants in the first second (and the 0.5 s clock's second tick).
    assert len({at for at, _ in ticks if at < 202}) == 4
    assert [at for at, (period, _) in ticks if period == 2.0] == [300] * SPREAD_GROUP


@pytest.mark.parametrize("step", [-3600.0, 3600.0])
@pytest.mark.parametrize("grid", [True, False], ids=["grid_ticks", "fixed_rate_ticks"])
def test_a_step_of_the_wall_clock_moves_the_grid_with_it_no_tick_held_back_or_dropped(step: float, grid: bool) -> None:
    # Real time, each wait bounded: the wall clock is stepped (through the scheduler's injected `wall`) at the
    # third tick. Held back for the hour (the grid left on the old wall clock) the eighth tick never comes; made
    # late by it, the fourth says 72,000 ticks were missed.
    stepped = [0.0]
    scheduler = WallClockScheduler(wall=lambda: time.time() + stepped[0])
    ticks: list[Tick] = []
    eighth = threading.Event()

    def seen(tick: Tick) -> None:
        ticks.append(tick)
        if len(ticks) == 3:
            stepped[0] = step
        if len(ticks) == 8:
            eighth.set()

    clocks = (reactivex.never().pipe(ops.start_with([("a", 0.05)]), grid_ticks(scheduler, lambda period: period),
                                     ops.map(lambda ticked: ticked[1]))
              if grid else fixed_rate_ticks(0.05, scheduler))
    subscription = clocks.subscribe(seen)
    try:
        assert eighth.wait(10.0), f"ticks held back by the step: {ticks}"
    finally:
        subscription.dispose()
        scheduler.dispose()
    # A loaded host may hold the clock's thread a whole period now and then: a tick dropped then is counted in the
    # next one's `missed`, and the due times stay on the grid. Made late by the step, a tick would have missed 72,000.
    assert all(tick.missed < 10 for tick in ticks[:8]), ticks
    gaps = [later.due - earlier.due - 0.05 * (1 + later.missed) for earlier, later in itertools.pairwise(ticks[:8])]
    assert gaps[2] == pytest.approx(step, abs=0.1)  # the grid moved by the step, to the measured µs
    assert [*gaps[:2], *gaps[3:]] == pytest.approx([0.0] * 6, abs=1e-6)  # and kept its period

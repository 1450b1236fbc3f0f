"""`fixed_rate_ticks` in virtual time: exact due times, no drift, late ticks dropped and counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reactivex.scheduler import HistoricalScheduler
from reactivex.testing import ReactiveTest, TestScheduler

from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.streams.ticks import Tick, fixed_rate_ticks

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


def test_disposing_stops_the_ticks() -> None:
    scheduler = TestScheduler()
    seen: list[float] = []
    subscription = fixed_rate_ticks(1.0, scheduler, start=10.0).subscribe(lambda tick: seen.append(tick.due))
    scheduler.advance_to(12.5)
    subscription.dispose()
    scheduler.advance_to(20.0)
    assert seen == [10.0, 11.0, 12.0]

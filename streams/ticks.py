"""Fixed-rate clocks: an observable of the scheduled times start, start + period, start + 2·period, ..."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import MultipleAssignmentDisposable

from domain.timefmt import epoch_seconds, utc_datetime


def fixed_rate_ticks(
    period: float,
    scheduler: abc.SchedulerBase,
    start: float | None = None,
    on_missed: Callable[[int], None] | None = None,
    first_after: float = 0.0,
) -> Observable[float]:
    """Scheduled times (UTC epoch seconds) of a clock that never drifts.

    Tick n is due at `start + n * period` (`start` defaults to the scheduler's
    now at subscription plus `first_after`). A tick that comes a whole period late or more is
    dropped, and `on_missed` told how many, rather than bunched up.

    Example: ``fixed_rate_ticks(2.0, EventLoopScheduler())`` emits t0, t0+2, t0+4, ...
    """

    def subscribe(observer: abc.ObserverBase[float], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        origin = epoch_seconds(scheduler.now) + first_after if start is None else start
        slot = MultipleAssignmentDisposable()
        count = 0

        def tick(sched: abc.SchedulerBase, state: Any = None) -> None:
            nonlocal count
            due = origin + count * period
            late_periods = int((epoch_seconds(sched.now) - due) // period)
            if late_periods >= 1:
                count += late_periods
                if on_missed is not None:
                    on_missed(late_periods)
                due = origin + count * period
            count += 1
            observer.on_next(due)
            slot.disposable = sched.schedule_absolute(utc_datetime(origin + count * period), tick)

        slot.disposable = scheduler.schedule_absolute(utc_datetime(origin), tick)
        return slot

    return Observable(subscribe)

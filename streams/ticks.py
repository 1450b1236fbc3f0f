"""Fixed-rate clocks: an observable of ticks due at start, start + period, start + 2·period, ..."""

from __future__ import annotations

from typing import Any, NamedTuple

from reactivex import Observable, abc
from reactivex.disposable import MultipleAssignmentDisposable

from monitoringapp.domain.timefmt import epoch_seconds, utc_datetime


class Tick(NamedTuple):
    """A clock's tick: when it was due (UTC epoch seconds), and how many ticks before it were dropped
    because the clock came a whole period late or more."""

    due: float
    missed: int = 0


def fixed_rate_ticks(
    period: float,
    scheduler: abc.SchedulerBase,
    start: float | None = None,
    first_after: float = 0.0,
) -> Observable[Tick]:
    """Ticks of a clock that never drifts.

    Tick n is due at `start + n * period` (`start` defaults to the scheduler's now at subscription plus
    `first_after`). A tick that comes a whole period late or more is dropped, and the next one says how
    many were, rather than bunched up.

    ```text
    scheduler:  0----2----4----6----8----   (stalled from 3.9 to 8.1)
                [fixed_rate_ticks(2.0)]
    out:        T(0)-T(2)----------T(8, missed=2)--
    ```

    Example: ``fixed_rate_ticks(2.0, EventLoopScheduler()).pipe(ops.map(lambda tick: tick.due))``
    """

    # Hand-written: reactivex.timer(duetime, period) re-anchors a late clock to "now + period", which
    # drifts; monitoring needs the fixed grid start + n * period, with dropped ticks counted.
    def subscribe(observer: abc.ObserverBase[Tick], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        origin = epoch_seconds(scheduler.now) + first_after if start is None else start
        slot = MultipleAssignmentDisposable()
        count = 0

        def tick(sched: abc.SchedulerBase, state: Any = None) -> None:
            nonlocal count
            due = origin + count * period
            late_periods = int((epoch_seconds(sched.now) - due) // period)
            if late_periods >= 1:
                count += late_periods
                due = origin + count * period
            count += 1
            observer.on_next(Tick(due, max(0, late_periods)))
            slot.disposable = sched.schedule_absolute(utc_datetime(origin + count * period), tick)

        slot.disposable = scheduler.schedule_absolute(utc_datetime(origin), tick)
        return slot

    return Observable(subscribe)

"""The live modes' scheduler: `now` is the wall clock (the time stored and shown), waits are on the monotonic clock.

reactivex's `EventLoopScheduler` keeps its due times as wall-clock datetimes and waits for `due - now`: when the wall
clock is stepped back (NTP correcting a clock set an hour ahead, a host whose hardware clock keeps local time,
`date -s`, a VM restored from a snapshot) everything queued waits for the step too, so a monitor made no check, a
reader followed nothing and a notifier delivered nothing for an hour, without a word; stepped forward, all of it fell
due at once. Here an action due in 10 s runs 10 s later whatever the wall clock does meanwhile, and `wall_offset`
tells a clock on a fixed grid (`streams.ticks`) how far to move its grid with a step.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from reactivex import typing
from reactivex.abc import DisposableBase
from reactivex.disposable import Disposable
from reactivex.internal.exceptions import DisposedException
from reactivex.scheduler import EventLoopScheduler
from reactivex.scheduler.scheduleditem import ScheduledItem

from monitoringapp.domain.timefmt import epoch_seconds, utc_datetime

__all__ = ["WallClockScheduler", "wall_offset"]

_TState = TypeVar("_TState")


class WallClockScheduler(EventLoopScheduler):
    """An event loop on its own thread whose `now` is the wall clock (UTC) and whose waits do not follow its steps.

    An action scheduled for a wall time is queued for the monotonic time that was as far ahead when it was
    scheduled, so a step of the wall clock changes when nothing runs; `wall_offset()` (wall less monotonic seconds)
    changes by the step. `wall` and `steady` are the two clocks (injected by tests).

    Example: ``WallClockScheduler().schedule_relative(10.0, lambda scheduler, state: print(scheduler.now))``
    """

    def __init__(self, thread_factory: typing.StartableFactory | None = None,
                 wall: Callable[[], float] = time.time, steady: Callable[[], float] = time.monotonic) -> None:
        super().__init__(thread_factory)
        self._wall = wall
        self._steady = steady

    @property
    def now(self) -> datetime:
        return utc_datetime(self._wall())

    def wall_offset(self) -> float:
        """Wall-clock seconds less monotonic seconds: constant but for the wall clock's steps."""
        return self._wall() - self._steady()

    def schedule_absolute(self, duetime: typing.AbsoluteTime, action: typing.ScheduledAction[_TState],
                          state: _TState | None = None) -> DisposableBase:
        if self._is_disposed:
            raise DisposedException()
        # Queued in the monotonic clock's time (as a datetime, which is what the queue orders by).
        steady_due = utc_datetime(epoch_seconds(self.to_datetime(duetime)) - self.wall_offset())
        item: ScheduledItem = ScheduledItem(self, state, action, steady_due)
        with self._condition:
            if steady_due <= self._steady_now():
                self._ready_list.append(item)
            else:
                self._queue.enqueue(item)
            self._condition.notify()
            self._ensure_thread()
        return Disposable(item.cancel)

    def _steady_now(self) -> datetime:
        return utc_datetime(self._steady())

    def run(self) -> None:
        # EventLoopScheduler.run, with the queue's due times compared to the monotonic clock, not to `now`.
        ready: deque[ScheduledItem] = deque()
        while True:
            with self._condition:
                if self._is_disposed:
                    return
                moment = self._steady_now()
                while self._queue:
                    due = self._queue.peek().duetime
                    while self._ready_list and due > self._ready_list[0].duetime:
                        ready.append(self._ready_list.popleft())
                    if due > moment:
                        break
                    ready.append(self._queue.dequeue())
                while self._ready_list:
                    ready.append(self._ready_list.popleft())
            while ready:
                item = ready.popleft()
                if not item.is_cancelled():
                    item.invoke()
            with self._condition:
                # Disposed while it ran those actions (by one of them, as `dispose_after_its_tick` does, or by another
                # thread): the notify came while nobody waited, and a wait now would be for ever. reactivex's
                # `EventLoopScheduler.run` waits so: -a --notify kept a thread for every reload it made.
                if self._is_disposed:
                    return
                if self._ready_list:
                    continue
                if self._queue:
                    seconds = (self._queue.peek().duetime - self._steady_now()).total_seconds()
                    if seconds > 0:
                        self._condition.wait(seconds)
                else:
                    self._condition.wait()


def wall_offset(scheduler: object) -> float:
    """`scheduler`'s wall-clock offset (see `WallClockScheduler.wall_offset`); 0 for a scheduler whose clock does
    not step (a virtual one: test mode, replay, the tests)."""
    return scheduler.wall_offset() if isinstance(scheduler, WallClockScheduler) else 0.0

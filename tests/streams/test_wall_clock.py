"""`WallClockScheduler`: `now` is the wall clock, and a step of it neither holds back nor hurries what is due.

The wall clock is stepped through the scheduler's injected `wall` (the host's cannot be set here); its waits run on
the real monotonic clock, each bounded: an action that a step held back, as reactivex's `EventLoopScheduler` holds it,
would never run within the bound."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from reactivex import abc, typing
from reactivex.scheduler import HistoricalScheduler

from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.streams.wall_clock import WallClockScheduler, wall_offset

HOUR = 3600.0
BOUND = 10.0  # seconds: every wait below, where each is meant to last 0.2 s at most


class SteppedWall:
    """The host's wall clock plus `stepped` seconds: stepped back or forward by a test."""

    def __init__(self) -> None:
        self.stepped = 0.0

    def __call__(self) -> float:
        return time.time() + self.stepped


def test_an_action_due_in_a_moment_runs_then_though_the_wall_clock_is_stepped_back_an_hour_meanwhile() -> None:
    wall = SteppedWall()
    scheduler = WallClockScheduler(wall=wall)
    ran = threading.Event()
    seen: list[float] = []

    def action(sched: abc.SchedulerBase, _: object = None) -> None:
        seen.append(epoch_seconds(sched.now))
        ran.set()

    try:
        scheduled_at = wall()
        scheduler.schedule_relative(0.2, action)
        wall.stepped = -HOUR
        assert ran.wait(BOUND), "the action waited for the step back"
        # It ran by the stepped wall clock: about an hour before it was scheduled for.
        assert scheduled_at - HOUR < seen[0] < scheduled_at - HOUR + BOUND
    finally:
        scheduler.dispose()


def test_an_action_due_later_is_not_run_early_when_the_wall_clock_is_stepped_forward() -> None:
    wall = SteppedWall()
    scheduler = WallClockScheduler(wall=wall)
    early, later = threading.Event(), threading.Event()
    try:
        scheduler.schedule_relative(HOUR, lambda _, __=None: early.set())
        wall.stepped = 2 * HOUR
        scheduler.schedule_relative(0.1, lambda _, __=None: later.set())
        assert later.wait(BOUND)
        assert not early.is_set()  # due in an hour of the monotonic clock, not at the wall's new time
    finally:
        scheduler.dispose()


def test_the_wall_offset_changes_by_a_step_and_is_zero_for_a_virtual_clock() -> None:
    wall = SteppedWall()
    scheduler = WallClockScheduler(wall=wall)
    before = wall_offset(scheduler)
    wall.stepped = -HOUR
    assert abs(wall_offset(scheduler) - before + HOUR) < 1.0
    assert abs(epoch_seconds(scheduler.now) - (time.time() - HOUR)) < 1.0
    assert wall_offset(HistoricalScheduler()) == 0.0


def _threads_made() -> tuple[list[threading.Thread], typing.StartableFactory]:
    made: list[threading.Thread] = []

    def factory(target: Callable[[], None]) -> typing.Startable:
        made.append(threading.Thread(target=target, daemon=True))
        return made[-1]

    return made, factory


def test_a_scheduler_disposed_by_its_own_action_ends_its_thread() -> None:
    # What `dispose_after_its_tick` does at every stop and reload of -a --notify: the thread then waited for ever on
    # an empty queue, one more per reload for as long as the notifier ran.
    made, factory = _threads_made()
    scheduler = WallClockScheduler(thread_factory=factory)
    scheduler.schedule(lambda sched, _=None: scheduler.dispose())
    made[0].join(BOUND)
    assert not made[0].is_alive()


def test_a_scheduler_disposed_from_another_thread_while_its_action_runs_ends_its_thread() -> None:
    made, factory = _threads_made()
    scheduler = WallClockScheduler(thread_factory=factory)
    running, release = threading.Event(), threading.Event()

    def action(sched: abc.SchedulerBase, _: object = None) -> None:
        running.set()
        release.wait(BOUND)

    scheduler.schedule(action)
    assert running.wait(BOUND)
    scheduler.dispose()
    release.set()
    made[0].join(BOUND)
    assert not made[0].is_alive()

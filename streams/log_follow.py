"""The log followed live: triggers in (poll ticks, report requests), each with what the log has new out."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.streams.log_tail import LogNews, LogTail

E = TypeVar("E")
T = TypeVar("T")
Polled = tuple[T, LogNews[E] | None]


def follow_log(open_tail: Callable[[], LogTail[E]]) -> Callable[[Observable[T]], Observable[Polled[T, E]]]:
    """On each trigger, the trigger and what the log has new since the one before (None: nothing).

    The tail is opened per subscription and closed when it ends. A trigger can be a poll tick or a report
    request: the news it brings is read before it, so a report counts every event committed before it was
    asked for. A log that cannot be used ends the stream with its `StoreError`.

    ```text
    triggers:  --t1------t2------t3--
    log:       h1 h2  a1     a2 a3
               [follow_log(open_tail)]
    out:       --(t1, history h1 h2)--(t2, a1)--(t3, a2 a3)--
    ```

    Example: ``fixed_rate_ticks(0.25, clock).pipe(follow_log(lambda: LogTail(reader.transitions_since, ...)))``
    """

    def operator(triggers: Observable[T]) -> Observable[Polled[T, E]]:
        def factory(_: abc.SchedulerBase | None) -> Observable[Polled[T, E]]:
            tail = open_tail()

            def poll(trigger: T) -> Polled[T, E]:
                return trigger, tail.poll()

            return triggers.pipe(ops.map(poll), ops.finally_action(tail.close))

        return reactivex.defer(factory)

    return operator

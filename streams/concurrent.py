"""Work handed to a pool and its results brought back to the clock: items in, batches of results out, concurrently."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.internal.exceptions import DisposedException

A = TypeVar("A")
B = TypeVar("B")


def map_on(
    io: abc.SchedulerBase,
    clock: abc.SchedulerBase,
    gather: float = 0.0,
) -> Callable[[Callable[[A], B]], Callable[[Observable[A]], Observable[tuple[B, ...]]]]:
    """Each item mapped on `io` (concurrently: a slow item never holds up another), the results delivered on
    `clock` in the order they finish, in batches: those that finished while the clock was busy, or within
    `gather` seconds (of the clock) of the first of them, come together, as one tuple. Completes once the source
    has and every result is delivered.

    Why batches: a result costs the clock a hand-off and every operator downstream a pass through reactivex's
    plumbing, which is most of the operators' cost per probe; a batch pays them once. With no `gather`, while the
    clock keeps up a batch is one result (nothing waits for company); when it falls behind, the batches grow with
    the backlog, so the cost per result falls as the load rises. A `gather` makes the first result of a batch
    wait that long for company: sites whose ticks are spread over the second then land several to a batch, and
    the clock wakes once a batch, not once a result.

    A mapper that raises is a bug, not a result: the error goes to `io`'s own reporting (the probe pool
    reports it as a thread would) and the item yields nothing.

    ```text
    source:   -a--b--c-----d---|
    io:         [fa] [fb---] [fc] [fd]
    out:      -----(A)------(C,B)--(D)|     (on clock: C and B finished while the clock was busy)

    with a gather of 3 dashes, the results as they finish on io and as they are delivered:
    finished: --a-b----c|
    out:      -----(A,B)--(C)|              (A waits from 2 to 5 for company and B comes; C waits alone)
    ```

    Example: ``ticks.pipe(map_on(ProbePool(), clock)(run_probe))``
    """

    # Hand-written: `flat_map(lambda x: from_callable(lambda: fn(x), io).pipe(observe_on(clock)))` says the same
    # one item at a time, but subscribes two observables per item through reactivex's trampoline on the clock's
    # thread. Measured with 200 sites at 1 s (python -m bench --only capacity): 0.94 ms of CPU per probe against
    # 0.75, and tick lateness p99 150 ms against 13, the probe pool growing to 800 threads behind the late clock.
    def with_mapper(fn: Callable[[A], B]) -> Callable[[Observable[A]], Observable[tuple[B, ...]]]:
        def operator(source: Observable[A]) -> Observable[tuple[B, ...]]:
            def subscribe(observer: abc.ObserverBase[tuple[B, ...]], scheduler: abc.SchedulerBase | None = None,
                          ) -> abc.DisposableBase:
                lock = threading.Lock()
                pending = 0
                source_done = False
                disposed = False
                finished: list[B] = []  # results waiting for the clock, in the order they finished
                failed = 0  # items that yielded nothing, waiting for the clock to count them
                drain_due = False  # a `deliver` is scheduled on the clock and has not taken the waiting yet

                def deliver(_: abc.SchedulerBase, __: Any = None) -> None:
                    # On the clock's thread: everything that finished since the last delivery, as one batch.
                    nonlocal pending, finished, failed, drain_due
                    with lock:
                        batch, finished = finished, []
                        count = len(batch) + failed
                        failed, drain_due = 0, False
                    if batch and not disposed:
                        observer.on_next(tuple(batch))
                    with lock:
                        pending -= count
                        done = source_done and pending == 0
                    if done and not disposed:
                        observer.on_completed()

                def finish(result: tuple[B] | None) -> None:
                    # On an io thread: the first to finish while none waits asks the clock for a delivery.
                    nonlocal failed, drain_due
                    with lock:
                        if result is None:
                            failed += 1
                        else:
                            finished.append(result[0])
                        ask, drain_due = not drain_due, True
                    if ask and not disposed:  # after a stop the clock may be disposed: nothing is delivered then
                        with contextlib.suppress(DisposedException):  # disposed between the check and the call
                            if gather:
                                clock.schedule_relative(gather, deliver)
                            else:
                                clock.schedule(deliver)

                def run(item: A) -> None:
                    # On an io thread.
                    try:
                        result = fn(item)
                    except BaseException:
                        finish(None)
                        raise
                    finish((result,))

                def on_next(item: A) -> None:
                    nonlocal pending
                    with lock:
                        pending += 1

                    def run_item(_: abc.SchedulerBase, __: Any = None) -> None:
                        run(item)

                    io.schedule(run_item)

                def on_completed() -> None:
                    nonlocal source_done
                    with lock:
                        source_done = True
                        done = pending == 0
                    if done:
                        observer.on_completed()

                def dispose() -> None:
                    nonlocal disposed
                    disposed = True

                subscription = source.subscribe(on_next, observer.on_error, on_completed, scheduler=scheduler)
                return CompositeDisposable(subscription, Disposable(dispose))

            return Observable(subscribe)

        return operator

    return with_mapper

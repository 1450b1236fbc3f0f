"""A long-running mode's life: start, wait for a stop, drain, and the exit status.

Signal handlers only queue what happened (`SimpleQueue.put` is safe in a handler); the main thread acts on
it in `wait`, so a signal that comes while the mode is stopping never reaches a half-disposed graph.
SIGINT and SIGTERM stop; SIGHUP, where the mode asks for it, is passed on as a poke (reload the config);
a failure on any thread, or the console's reader going away (`-m | head`), stops too.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from reactivex import Observable, abc
from reactivex.subject import Subject

from monitoringapp.app.usage import OK

_STOP = object()


class Lifecycle:
    """Installs the signal handlers of a long-running mode; `wait` blocks until it should stop."""

    def __init__(self, *, reload_on_hup: bool = False) -> None:
        self._events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._hups: Subject[None] = Subject()
        self._previous: dict[int, Any] = {}
        signals = (signal.SIGINT, signal.SIGTERM, *((signal.SIGHUP,) if reload_on_hup else ()))
        for signum in signals:
            self._previous[signum] = signal.signal(signum, self._on_signal)

    @property
    def hups(self) -> Observable[None]:
        """One item per SIGHUP, on the main thread."""
        return self._hups

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._events.put(signum)

    def stop(self) -> None:
        """Ask to stop, from any thread (e.g. the console's reader went away)."""
        self._events.put(_STOP)

    def fail(self, error: Exception) -> None:
        """Stop because `error` ended a stream, from any thread; `wait` returns it."""
        self._events.put(error)

    def wait(self) -> Exception | None:
        """Block until a stop: None for a signal or `stop`, the error for a failure."""
        while True:
            try:
                event = self._events.get(timeout=0.5)  # a timeout, so the handlers run promptly
            except queue.Empty:
                continue
            if event == signal.SIGHUP:
                self._hups.on_next(None)
            elif isinstance(event, Exception):
                return event
            else:
                return None

    def restore(self) -> None:
        """Put back the signal handlers there were before."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


Stopper = Callable[[], None]
"""How a started mode stops: drain what is in flight, flush, dispose."""


def run_until_stopped(start: Callable[[Lifecycle], Stopper], *, reload_on_hup: bool = False) -> int:
    """Run a long-running mode: `start(lifecycle)` subscribes its streams (a stream's error goes to
    `lifecycle.fail`) and returns its stopper; then wait for a stop, call the stopper, and give the exit
    status: OK after a stop, or the failure raised again (a StoreError is a user's mistake, one line and
    exit 2 in `cli.main`; anything else is a bug)."""
    lifecycle = Lifecycle(reload_on_hup=reload_on_hup)
    try:
        stop = start(lifecycle)
        failure = lifecycle.wait()
        stop()
    finally:
        lifecycle.restore()
    if failure is not None:
        raise failure
    return OK


def wait_until_idle(scheduler: abc.SchedulerBase, timeout: float, action: Callable[[], None] | None = None) -> bool:
    """Block until everything already queued on `scheduler` (a real, threaded one) has run, then run `action` on
    it; False if that took longer than `timeout` seconds."""
    done = threading.Event()

    def signal_done(_: abc.SchedulerBase, __: object = None) -> None:
        if action is not None:
            action()
        done.set()

    scheduler.schedule(signal_done)
    return done.wait(timeout)

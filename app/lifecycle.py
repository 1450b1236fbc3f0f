"""A mode's life: start, wait for a stop, drain within a grace, and the exit status.

Long-running modes (`-m`, `-a`, `-p`, `-w`, `-e`) use `run_until_stopped`. Signal handlers only queue what happened
(`SimpleQueue.put` is safe in a handler); the main thread acts on it in `wait`, so a signal that comes while
the mode is stopping never reaches a half-disposed graph. SIGINT and SIGTERM stop; a second one while the
mode drains cuts the grace short (`wait_for`); SIGHUP is what the mode asks for (`Hup`): passed on as a poke
(reload what it can: `-m` and the notifier their config, `-w` its config's sites and its auth file; `-e` says it
reloads nothing), or a stop like SIGINT's, exit 0 (the readers `-a` and `-p`: their terminal has gone), unless the
process was started with it ignored (`nohup`); a failure on any thread, or the reader of the console going away
(`-m | head`, seen on a write or by `stop_when` within half a second), stops too.
A step that holds the main thread for long (a reload waiting for its log) asks `stop_asked` as it waits, and gives
up when a stop is queued, so that `wait` acts on the stop within its grace.

One-shot commands (`-t`, `--purge`, `--check`) use `run_once`: SIGTERM interrupts them as Ctrl-C does, so
their clean-up runs and they exit 130 (`Interrupted`), never 0: a script must not read an interrupted
run as a success. Both handlers are installed even when the process started with SIGINT ignored (a shell
without job control does that to `cmd &`), as the long-running modes' are: every mode stops on both.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from enum import Enum
from types import FrameType
from typing import Any

from reactivex import Observable, abc
from reactivex.scheduler import EventLoopScheduler
from reactivex.subject import Subject

from monitoringapp.app.usage import OK

_STOP = object()
_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How often the main thread wakes to run the handlers and the `stop_when` checks.
_WAKE = 0.5
# How often a drain looks at whether what it waits for is done.
_DRAIN_POLL = 0.02


class Hup(Enum):
    """What SIGHUP does to a long-running mode (without either, it ends the process, exit 129)."""

    RELOAD = "reload"
    """Passed on to the mode (`hups`), which reads again what it can and says on stderr what it did: a service
    manager's `kill -HUP` means "reload", and must not end a server (`-w`) or an evaluator (`-e`) either."""
    STOP = "stop"
    """Stop as SIGINT does, exit 0: a reader's terminal has closed, no one reads it any more. Started under
    `nohup` (SIGHUP ignored), it stays ignored: the reader goes on, to its file."""


class Lifecycle:
    """Installs the signal handlers of a long-running mode; `wait` blocks until it should stop."""

    def __init__(self, *, hup: Hup | None = None) -> None:
        self._events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._hups: Subject[None] = Subject()
        self._previous: dict[int, Any] = {}
        self._stop_conditions: list[Callable[[], bool]] = []
        self._hup = hup
        self._stop_asked = False  # a plain flag: set by a signal handler, which must take no lock
        ignored = signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
        handles_hup = self._hup is Hup.RELOAD or (self._hup is Hup.STOP and not ignored)
        signals = (*_STOPPING_SIGNALS, *((signal.SIGHUP,) if handles_hup else ()))
        for signum in signals:
            self._previous[signum] = signal.signal(signum, self._on_signal)

    @property
    def hups(self) -> Observable[None]:
        """One item per SIGHUP, on the main thread."""
        return self._hups

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum in _STOPPING_SIGNALS or self._hup is Hup.STOP:
            self._stop_asked = True
        self._events.put(signum)

    def stop_asked(self) -> bool:
        """Whether a stop has been asked (SIGINT, SIGTERM, `stop`, a failure; SIGHUP where it stops): a step holding
        the main thread (a reload) gives up once it has, so that `wait` acts on the stop at once."""
        return self._stop_asked

    def stop(self) -> None:
        """Ask to stop, from any thread (e.g. the console's reader went away)."""
        self._stop_asked = True
        self._events.put(_STOP)

    def stop_when(self, condition: Callable[[], bool]) -> None:
        """Stop as soon as `condition()` is true, asked every half second on the main thread (e.g. the
        console's reader has gone while nothing is being written)."""
        self._stop_conditions.append(condition)

    def fail(self, error: Exception) -> None:
        """Stop because `error` ended a stream, from any thread; `wait` returns it."""
        self._stop_asked = True
        self._events.put(error)

    def wait(self) -> Exception | None:
        """Block until a stop: None for a signal or `stop`, the error for a failure."""
        while True:
            try:
                event = self._events.get(timeout=_WAKE)  # a timeout, so the handlers run promptly
            except queue.Empty:
                if any(condition() for condition in self._stop_conditions):
                    return None
                continue
            if event == signal.SIGHUP and self._hup is Hup.RELOAD:
                self._hups.on_next(None)
            elif isinstance(event, Exception):
                return event
            else:
                return None

    def wait_for(self, done: Callable[[], bool], seconds: float) -> bool:
        """Wait up to `seconds` for `done()` while stopping: True once it is, False when the time is up or a
        second SIGINT / SIGTERM says to stop now. A SIGHUP meanwhile is ignored."""
        deadline = time.monotonic() + seconds
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                event = self._events.get(timeout=min(remaining, _DRAIN_POLL))
            except queue.Empty:
                continue
            if event in _STOPPING_SIGNALS:
                return False
        return True

    def restore(self) -> None:
        """Put back the signal handlers there were before."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


Stopper = Callable[[], None]
"""How a started mode stops: drain what is in flight, flush, dispose."""


def run_until_stopped(start: Callable[[Lifecycle], Stopper], *, hup: Hup | None = None) -> int:
    """Run a long-running mode: `start(lifecycle)` subscribes its streams (a stream's error goes to
    `lifecycle.fail`) and returns its stopper; then wait for a stop, call the stopper, and give the exit
    status: OK after a stop, or the failure raised again (a StoreError is a user's mistake, one line and
    exit 2 in `cli.main`; anything else is a bug)."""
    lifecycle = Lifecycle(hup=hup)
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


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_once(command: Callable[[], int]) -> int:
    """Run a one-shot command with SIGINT and SIGTERM raising KeyboardInterrupt, so that the command's own
    clean-up (`finally`, `except KeyboardInterrupt`) runs for both."""
    previous = {signum: signal.signal(signum, _interrupt) for signum in _STOPPING_SIGNALS}
    try:
        return command()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def dispose_after_its_tick(clock: EventLoopScheduler) -> None:
    """Dispose `clock` on its own thread, once the tick it may be running is done: that tick schedules the next one
    on it, which raised in its thread (a DisposedException traceback on stderr at a stop or a reload) when the clock
    was disposed from another thread meanwhile. Seen in -a --notify (3 of 20 runs of a reload test) and -p."""

    def dispose(_: abc.SchedulerBase, __: object = None) -> None:
        clock.dispose()

    clock.schedule(dispose)

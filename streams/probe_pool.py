"""The probes' worker pool: actions in, run on a few threads that are replaced while a probe hangs.

A probe of a nearby healthy site is mostly CPU under the GIL (building and
parsing HTTP), so hundreds of threads starting probes at once only fight over
the GIL and starve the clock thread. The pool keeps `core` threads for that
work. A watchdog adds threads (up to `max_workers`) where more are needed:
one for each thread whose probe has run longer than `patience` (waiting on a
slow site), and one for each job queued longer than `queue_patience` (probes
that mostly wait on the network, e.g. far sites, need many threads at once)
while the process uses less than `busy_cores` of CPU, at most doubling the
threads at each look. So a slow site never holds up the others' probes.
Threads idle for `idle_timeout` beyond those needed end.

Jobs queue for two reasons, and only one is helped by threads: the threads are waiting on the network
(far sites), or they are busy on the CPU (more nearby sites than one core probes in a second). In the
second case each thread added only takes the GIL from the others and makes every probe cost more: a
monitor of 2,000 or 3,000 nearby sites that fell behind at start-up grew the pool to hundreds of threads and
never caught up (CPU per probe 0.39 → 0.75-1.39 ms, four ticks in five skipped). A process already using
`busy_cores` is that second case: its queued jobs wait for the CPU, and ticks are skipped instead. The CPU of
`uncounted` threads (work beside the probes, such as a restart's fill of the report windows) is left out: it
does not make the probes CPU-bound, and far sites need their threads while it runs. (The price of the guard:
a monitor of many nearby sites and some far ones gets threads for the far ones more slowly, so their ticks can
come hundreds of ms late; README "Performance" has the figures.)

On a host busy with other work the process gets less CPU than it asks for, and reads as idle: the time the pool's
threads waited, runnable, for a CPU (Linux's schedstat) counts as CPU used, and a thread past `patience` that
waited for a CPU most of the time is not stuck on its site. Without them, 1,000 nearby sites on a host loaded by
other processes grew the pool to 130-300 threads at start (the queued first ticks taken for probes waiting on the
network), which then passed the GIL round, each probe taking over 100 ms and counting as stuck, so none retired
(3-19 % of ticks skipped).
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

from reactivex import abc, typing
from reactivex.disposable import Disposable
from reactivex.scheduler import NewThreadScheduler

_P = ParamSpec("_P")
_T = TypeVar("_T")
# A thread's CPU clock, to leave the `uncounted` threads' CPU out; missing on macOS (then none is left out).
_THREAD_CPU_CLOCK: Callable[[int], int] | None = getattr(time, "pthread_getcpuclockid", None)


def thread_cpu_seconds(thread: threading.Thread) -> float | None:
    """`thread`'s CPU seconds (0 once it has ended); None where no thread's CPU clock can be read
    (`pthread_getcpuclockid` is missing on macOS)."""
    if _THREAD_CPU_CLOCK is None:
        return None
    if thread.ident is None or not thread.is_alive():
        return 0.0
    try:
        return time.clock_gettime(_THREAD_CPU_CLOCK(thread.ident))
    except OSError:  # it ended meanwhile
        return 0.0


_SCHEDSTAT = "/proc/self/task/{}/schedstat"  # a thread's: ns on a CPU, ns waiting for one while runnable, slices
_HAS_SCHEDSTAT = os.path.exists("/proc/thread-self/schedstat")  # Linux with schedstats (else nothing is read)


def run_times(threads: Iterable[threading.Thread]) -> dict[int, tuple[float, float]] | None:
    """Each running thread's seconds on a CPU and seconds runnable but waiting for one (by its `native_id`); None
    where the system does not tell (not Linux, or a kernel without schedstats)."""
    if not _HAS_SCHEDSTAT:
        return None
    times: dict[int, tuple[float, float]] = {}
    for thread in threads:
        number = thread.native_id
        if number is None:
            continue
        try:
            with open(_SCHEDSTAT.format(number), "rb") as stat:
                on_cpu, waiting, *_ = stat.read().split()
            times[number] = (int(on_cpu) / 1e9, int(waiting) / 1e9)
        except (OSError, ValueError):  # it ended meanwhile
            continue
    return times


class Call:
    """A job with no `Future`: run once unless cancelled first; an exception it raises is reported as a
    thread's would be, since nobody waits for its result. What the probe pool runs per probe: a `Future`
    (a `Condition` and its lock, a done-callback to report errors, two more lock rounds to settle it) cost
    more of the clock thread's time per probe than the rest of the hand-off together (py-spy, 200 sites)."""

    __slots__ = ("args", "cancelled", "fn")

    def __init__(self, fn: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.fn, self.args, self.cancelled = fn, args, False

    def cancel(self) -> None:
        self.cancelled = True

    def __call__(self) -> None:
        if self.cancelled:
            return
        try:
            self.fn(*self.args)
        except BaseException as error:  # a bug in a job: reported, and the worker goes on
            _report(error)


class _FutureCall:
    """A job with a `Future` for its result (`ElasticExecutor.submit`)."""

    __slots__ = ("args", "fn", "future", "kwargs")

    def __init__(self, future: Future[Any], fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> None:
        self.future, self.fn, self.args, self.kwargs = future, fn, args, kwargs

    def cancel(self) -> None:
        self.future.cancel()

    def __call__(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            result = self.fn(*self.args, **self.kwargs)
        except BaseException as error:  # the future carries it
            self.future.set_exception(error)
        else:
            self.future.set_result(result)


_Job = tuple[float, Call | _FutureCall]  # when it was queued, and the job


class ElasticExecutor(Executor):
    """An `Executor` with `core` threads free of slow jobs at all times, `max_workers` threads at most."""

    def __init__(self, core: int = 4, max_workers: int = 64, patience: float = 0.1,
                 queue_patience: float = 0.25, idle_timeout: float = 30.0, name: str = "probe",
                 busy_cores: float = 0.6, uncounted: Callable[[], Iterable[threading.Thread]] = tuple,
                 process_cpu: Callable[[], float] = time.process_time,
                 thread_cpu: Callable[[threading.Thread], float | None] = thread_cpu_seconds,
                 thread_run_times: Callable[[Iterable[threading.Thread]], dict[int, tuple[float, float]] | None]
                 = run_times) -> None:
        if not 1 <= core <= max_workers:
            raise ValueError(f"need 1 <= core <= max_workers, got {core}, {max_workers}")
        self.core = core
        self.max_workers = max_workers
        self.patience = patience
        self.queue_patience = queue_patience
        self.idle_timeout = idle_timeout
        self.busy_cores = busy_cores
        # Threads whose CPU is not the probes' (a restart's fill of the report windows): far sites need their
        # threads while it runs, and nearby ones do not become CPU-bound because of it.
        self.uncounted = uncounted
        # The CPU clocks the gauge reads: the process's, and a thread's (None where it cannot be read).
        self.process_cpu = process_cpu
        self.thread_cpu = thread_cpu
        # ... and the pool's threads' time on a CPU and waiting for one: the last reading (when, each thread's), and
        # what it told: the cores' worth of waiting, and the threads that waited most of the time (None: not known).
        self.thread_run_times = thread_run_times
        self._run_times: tuple[float, dict[int, tuple[float, float]]] | None = None
        self._waiting_cores: float | None = 0.0
        self._starved: frozenset[int] | None = frozenset()
        self._name = name
        self._lock = threading.Lock()
        # Each idle thread waits on its own condition, the last one idle on top: a job wakes the thread idle the
        # shortest time, so those not needed stay idle and end after `idle_timeout`. On one shared condition a job
        # woke the thread idle the longest (Python's notify goes first come, first served): under a steady flow of
        # probes every idle thread was woken in turn within the timeout and none ended, so the pool kept for good
        # the most threads a burst of slow sites had ever needed (up to `max_workers`).
        self._waiting: dict[int, threading.Condition] = {}  # worker number -> the condition it waits on when idle
        self._idle_threads: list[threading.Condition] = []  # those waiting for a job now, the last idle on top
        self._jobs: deque[_Job] = deque()
        self._started: dict[int, float | None] = {}  # worker number -> when its job started
        self._threads: dict[int, threading.Thread] = {}  # worker number -> its thread
        self._next_number = 0
        self._shutdown = False
        self._stop_watch = threading.Event()
        self._watchdog: threading.Thread | None = None
        # The watchdog sleeps on this while no job is queued or running (nothing can become stuck or overdue
        # until one comes): an idle monitor's watchdog would otherwise wake twenty times a second, which was
        # more than half of all its CPU (20 sites every 30 s: 3.3 of 5.7 ms a second).
        self._job_came = threading.Condition(self._lock)
        self._watch_idle = False

    @property
    def workers(self) -> int:
        return len(self._started)

    @property
    def watchdog_asleep(self) -> bool:
        """True while the watchdog waits for a job: none queued, none running."""
        with self._lock:
            return self._watch_idle

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        future: Future[_T] = Future()
        self._enqueue(_FutureCall(future, fn, args, kwargs))
        return future

    def call_soon(self, fn: Callable[..., object], *args: Any) -> Call:
        """Run `fn(*args)` on a worker, with no `Future`: the `Call` returned can be cancelled until it starts;
        an exception it raises is reported as a thread's would be."""
        call = Call(fn, args)
        self._enqueue(call)
        return call

    def _enqueue(self, job: Call | _FutureCall) -> None:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._jobs.append((time.monotonic(), job))
            if self._watch_idle:
                self._job_came.notify()
            if self._idle_threads:
                self._idle_threads.pop().notify()
            elif len(self._started) < self.core:
                self._spawn()
            if self._watchdog is None:
                self._watchdog = threading.Thread(target=self._watch, name=f"{self._name}-watchdog", daemon=True)
                self._watchdog.start()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more jobs; queued ones still run unless `cancel_futures`; `wait` joins the threads."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                while self._jobs:
                    self._jobs.popleft()[1].cancel()
            while self._idle_threads:
                self._idle_threads.pop().notify()
            self._job_came.notify_all()
            threads = list(self._threads.values())
        self._stop_watch.set()
        if wait:
            for thread in threads:
                thread.join()

    def _spawn(self) -> None:
        # Called with the lock held.
        number = self._next_number
        self._next_number += 1
        self._started[number] = None
        self._waiting[number] = threading.Condition(self._lock)
        thread = threading.Thread(target=self._work, args=(number,), name=f"{self._name}-{number}", daemon=True)
        self._threads[number] = thread
        thread.start()

    def _work(self, number: int) -> None:
        started = self._started
        ready = self._waiting[number]
        while True:
            with self._lock:
                started[number] = None
                while not self._jobs:
                    if self._shutdown:
                        return self._retire(number)
                    self._idle_threads.append(ready)
                    woken = ready.wait(self.idle_timeout)
                    if ready in self._idle_threads:  # not taken off by a job or the shutdown: it timed out
                        self._idle_threads.remove(ready)
                    if not woken and not self._jobs and len(started) > self._wanted():
                        return self._retire(number)
                _, job = self._jobs.popleft()
                started[number] = time.monotonic()
            job()

    def _retire(self, number: int) -> None:
        # Called with the lock held.
        del self._started[number]
        del self._waiting[number]
        del self._threads[number]

    def allow_at_least(self, max_workers: int) -> None:
        """`max_workers` threads at most from now on, if that is more than before (a reload that adds sites: a pool
        sized for the first config's 10 sites kept far sites added later to its 64 threads); never fewer, so no
        thread running a job is over the limit."""
        with self._lock:
            self.max_workers = max(self.max_workers, max_workers)

    def _wanted(self) -> int:
        # Called with the lock held: `core` threads plus one per thread stuck on a slow job. A thread that waited
        # for a CPU most of the time since the last look is not waiting on its site (the host is short of CPU): a
        # thread added would only wait too. Not known (no recent reading): none is stuck until it is.
        starved = self._starved
        stuck = sum(1 for number in self._past_patience(time.monotonic())
                    if starved is not None and self._threads[number].native_id not in starved)
        return min(self.max_workers, self.core + stuck)

    def _past_patience(self, now: float) -> list[int]:
        # Called with the lock held: the workers whose job began more than `patience` before `now`.
        slow_since = now - self.patience
        return [number for number, began in self._started.items() if began is not None and began < slow_since]

    def _watch(self) -> None:
        looked, cpu = time.monotonic(), self._counted_cpu()
        while not self._stop_watch.wait(min(self.patience, self.queue_patience) / 2):
            with self._lock:
                if self._shutdown:
                    return  # no thread starts after shutdown, so `shutdown(wait=True)` joins them all
                now, cpu_now = time.monotonic(), self._counted_cpu()
                cores = (cpu_now - cpu) / max(now - looked, 1e-3)  # the counted CPU since the last look
                looked, cpu = now, cpu_now
                # Every thread is busy when a job has waited: one more thread for each such job, unless the
                # threads are busy on the CPU rather than waiting (see the module's docstring). A thread not on a
                # job (one added at an earlier look and not yet running, on a loaded host) takes one of them: none
                # is added for it again (a pool waiting on 20 slow jobs had grown to 25-27 threads under load).
                waiting = 0
                overdue = now - self.queue_patience
                for enqueued, *_ in self._jobs:
                    if enqueued > overdue:
                        break
                    waiting += 1
                if waiting or self._past_patience(now):
                    self._read_run_times(now)  # only then: a file a thread
                if cores < self.busy_cores:
                    waiting -= sum(1 for began in self._started.values() if began is None)
                    waited = self._waiting_cores
                    if waited is None or cores + waited >= self.busy_cores:
                        waiting = 0  # short of CPU, not waiting on the network (or not known yet: next look)
                else:
                    waiting = 0
                # At most twice the threads a look: what the next look reads of the CPU says whether those added
                # helped. One low reading (at start-up, the process busy beside the pool) once added threads for
                # every queued first tick: 527 at once for 1,000 nearby sites, which then passed the GIL round,
                # never idle long enough to end, and 1,000 to 10,000 of 30,000 ticks were skipped.
                waiting = min(waiting, max(self.core, len(self._started)))
                more = max(self._wanted() - len(self._started), waiting)
                for _ in range(min(more, self.max_workers - len(self._started))):
                    self._spawn()
                while not self._jobs and not self._shutdown and all(t is None for t in self._started.values()):
                    self._watch_idle = True
                    self._job_came.wait()
                    looked, cpu = time.monotonic(), self._counted_cpu()
                self._watch_idle = False

    def _read_run_times(self, now: float) -> None:
        """Called with the lock held: what the pool's threads waited for a CPU since the last reading, as the cores'
        worth of it (0 where the system does not tell) and the threads that waited more than half the time (one busy
        on a CPU is replaced as before: a regex search lets the GIL go); both not known (None) with no reading from
        the last few looks (one is taken now: known at the next look)."""
        reading = self.thread_run_times(self._threads.values())
        if reading is None:
            self._waiting_cores, self._starved = 0.0, frozenset()
            return
        before, self._run_times = self._run_times, (now, reading)
        if before is None or now - before[0] > 4 * min(self.patience, self.queue_patience):
            self._waiting_cores = self._starved = None
            return
        then, times_then = before
        span = max(now - then, 1e-3)
        waited, starved = 0.0, set()
        for number, (_, waiting) in reading.items():
            waited_now = max(0.0, waiting - times_then.get(number, (0.0, waiting))[1])
            waited += waited_now
            if waited_now > span / 2:
                starved.add(number)
        self._waiting_cores, self._starved = waited / span, frozenset(starved)

    def _counted_cpu(self) -> float:
        """This process's CPU seconds but those of the `uncounted` threads (all of it where a thread's CPU
        clock cannot be read)."""
        cpu = self.process_cpu()
        left_out = 0.0
        for thread in self.uncounted():
            spent = self.thread_cpu(thread)
            if spent is None:
                return cpu
            left_out += spent
        return cpu - left_out


def _report(error: BaseException) -> None:
    # A scheduled action that raises is a bug (a probe never raises for a network failure):
    # a traceback on stderr, as on the plain thread a NewThreadScheduler would have run it on.
    threading.excepthook(threading.ExceptHookArgs(
        (type(error), error, error.__traceback__, threading.current_thread())))


class _PoolThread(abc.StartableBase):
    def __init__(self, executor: ElasticExecutor, target: typing.StartableTarget) -> None:
        self.executor = executor
        self.target = target

    def start(self) -> None:
        self.executor.call_soon(self.target)


class ProbePool(NewThreadScheduler):
    """A scheduler whose `schedule` runs the action on an `ElasticExecutor`, with no other machinery.

    (reactivex's `ThreadPoolScheduler` builds an event loop per scheduled action.)
    A probe scheduled after `executor.shutdown` is dropped: the monitor is stopping.

    One core thread by default: each more one only passes the GIL back and forth (a probe cost 18 % more CPU
    at 200 sites with two, 12 % more again with four; `python -m bench.threads`). The executor adds threads
    while probes wait on slow or far sites.
    """

    def __init__(self, core: int = 1, max_workers: int = 64,
                 uncounted: Callable[[], Iterable[threading.Thread]] = tuple) -> None:
        self.executor = ElasticExecutor(core, max_workers, uncounted=uncounted)
        executor = self.executor

        def thread_factory(target: typing.StartableTarget) -> abc.StartableBase:
            return _PoolThread(executor, target)

        super().__init__(thread_factory)

    def schedule(self, action: typing.ScheduledAction[Any], state: Any = None) -> abc.DisposableBase:
        try:
            call = self.executor.call_soon(self.invoke_action, action, state)
        except RuntimeError:
            return Disposable()
        return Disposable(call.cancel)

"""The probe pool: few threads for quick probes, more while probes wait on slow or far sites."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future

import pytest

from bench.processes import wait_until
from monitoringapp.streams import probe_pool
from monitoringapp.streams.probe_pool import ElasticExecutor, ProbePool


def test_runs_every_job_on_at_most_core_threads_when_jobs_are_quick() -> None:
    executor = ElasticExecutor(core=2, max_workers=50, patience=5.0, queue_patience=5.0)
    threads: set[str] = set()

    def job(n: int) -> int:
        threads.add(threading.current_thread().name)
        return n * n

    futures = [executor.submit(job, n) for n in range(200)]
    assert [f.result(timeout=5) for f in futures] == [n * n for n in range(200)]
    assert len(threads) <= 2
    executor.shutdown(wait=True)


def test_a_job_stuck_on_a_slow_site_gets_a_replacement_thread_so_others_still_run() -> None:
    executor = ElasticExecutor(core=1, max_workers=4, patience=0.05, queue_patience=5.0)
    release = threading.Event()
    stuck = executor.submit(release.wait, 10)
    quick = executor.submit(lambda: "done")
    try:
        assert quick.result(timeout=2) == "done"  # ran while the only core thread was still stuck
        assert not stuck.done()
        assert executor.workers == 2
    finally:
        release.set()
    assert stuck.result(timeout=2) is True
    executor.shutdown(wait=True)


def test_the_watchdog_sleeps_while_the_pool_is_idle_and_still_rescues_a_job_stuck_after_that() -> None:
    executor = ElasticExecutor(core=1, max_workers=4, patience=0.05, queue_patience=5.0)
    assert executor.submit(lambda: "first").result(timeout=2) == "first"
    # Nothing queued or running: no wake-ups twenty times a second.
    wait_until(lambda: executor.watchdog_asleep, 5, "the watchdog asleep", step=0.01)
    release = threading.Event()
    stuck = executor.submit(release.wait, 10)
    quick = executor.submit(lambda: "done")
    try:
        assert quick.result(timeout=2) == "done"  # the watchdog woke for the jobs and added a thread
        assert not executor.watchdog_asleep and executor.workers == 2
    finally:
        release.set()
    assert stuck.result(timeout=2) is True
    wait_until(lambda: executor.watchdog_asleep, 5, "the watchdog asleep again", step=0.01)
    watchdog = executor._watchdog
    assert watchdog is not None
    executor.shutdown(wait=True)
    watchdog.join(timeout=2)
    assert not watchdog.is_alive()  # shutdown wakes a sleeping watchdog, which then ends


def test_jobs_that_mostly_wait_get_threads_enough_to_run_together() -> None:
    executor = ElasticExecutor(core=1, max_workers=50, patience=5.0, queue_patience=0.02, thread_run_times=no_wait)
    # Threads added for the queued jobs run them side by side: one thread alone would run one at a time (and get
    # another only each `patience`, 5 s, a job is stuck).
    run_far_jobs_together(executor, 20)
    assert executor.workers == 20
    executor.shutdown(wait=True)


def far_jobs(executor: ElasticExecutor, count: int) -> tuple[threading.Semaphore, threading.Event, list[Future[None]]]:
    """`count` jobs that wait, as probes of far sites do, until the event returned is set; each releases the
    semaphore returned as it starts."""
    running = threading.Semaphore(0)
    answered = threading.Event()

    def wait() -> None:
        running.release()
        answered.wait(30)

    return running, answered, [executor.submit(wait) for _ in range(count)]


def run_far_jobs_together(executor: ElasticExecutor, count: int) -> None:
    """`far_jobs` until all `count` are running at once (as a far site's answer comes once the test has seen them
    all waiting); fails if they are not within 10 s."""
    running, answered, futures = far_jobs(executor, count)
    try:
        for n in range(count):
            assert running.acquire(timeout=10), f"{n} of the {count} jobs running together"
    finally:
        answered.set()
    for future in futures:
        future.result(timeout=5)


def test_threads_for_queued_jobs_at_most_double_at_each_look_and_still_reach_every_job() -> None:
    """One look that read the process as idle added a thread for every queued job at once: at the start of a
    monitor of 1,000 nearby sites (its first ticks queued, the process busy beside the pool) 527 threads, which then
    passed the GIL round for the whole run. Each look now adds at most as many threads as the pool has, and the next
    look's reading decides on more; jobs that do wait on the network still all get theirs, in a few looks."""
    looks = 0

    def process_cpu() -> float:  # read once at each look (and once as the watchdog starts): counts them
        nonlocal looks
        looks += 1
        return time.process_time()

    added: list[tuple[int, int]] = []  # (look, threads before) of each thread the watchdog adds

    class Counted(ElasticExecutor):
        def _spawn(self) -> None:
            if threading.current_thread() is self._watchdog:
                added.append((looks, len(self._started)))
            super()._spawn()

    executor = Counted(core=1, max_workers=100, patience=5.0, queue_patience=0.02, thread_run_times=no_wait,
                       process_cpu=process_cpu)
    run_far_jobs_together(executor, 64)
    assert executor.workers == 64
    executor.shutdown(wait=True)
    per_look: dict[int, list[int]] = {}
    for look, before in added:
        per_look.setdefault(look, []).append(before)
    assert len(per_look) >= 6  # 1 -> 64 threads by doubling
    for look, befores in per_look.items():
        assert len(befores) <= befores[0], f"look {look} added {len(befores)} threads to {befores[0]}"


def test_a_thread_added_for_a_waiting_job_and_not_yet_running_is_not_added_again() -> None:
    """On a loaded host a thread added at one look may not have started by the next, its job still queued: the
    watchdog counted that job again and added another thread for it (20 slow jobs, 25-27 threads, 6 runs in 30
    beside two busy loops). Here every thread starts late, until as many threads as jobs have been added."""

    class LateToStart(ElasticExecutor):
        started = threading.Event()

        def _work(self, number: int) -> None:
            self.started.wait(10)  # as the OS starts a thread late on a loaded host
            super()._work(number)

    executor = LateToStart(core=1, max_workers=50, patience=5.0, queue_patience=0.02, thread_run_times=no_wait)
    running, answered, futures = far_jobs(executor, 20)
    try:
        wait_until(lambda: executor.workers >= 20, 10, "a thread for each waiting job", step=0.01)
        LateToStart.started.set()
        for _ in range(20):
            assert running.acquire(timeout=10), "the twenty jobs running together"
        assert executor.workers == 20, "no thread added twice for one job"
    finally:
        LateToStart.started.set()
        answered.set()
    for future in futures:
        future.result(timeout=5)
    executor.shutdown(wait=True)


class BusyCore:
    """CPU clocks as if a thread beside the jobs (`spinner`, never started) kept one core busy all along: the
    process's CPU is its own plus the spinner's, whatever else runs on the machine (a real spinning thread
    gets less than a core on a loaded host, and the gauge then reads the pool as idle)."""

    def __init__(self) -> None:
        self.spinner = threading.Thread(name="spinner")
        self._began = time.monotonic()

    def spinner_cpu(self) -> float:
        return time.monotonic() - self._began

    def process_cpu(self) -> float:
        return time.process_time() + self.spinner_cpu()

    def thread_cpu(self, thread: threading.Thread) -> float | None:
        return self.spinner_cpu() if thread is self.spinner else probe_pool.thread_cpu_seconds(thread)


def test_jobs_queued_behind_a_busy_cpu_get_no_more_threads() -> None:
    # More sites than one core probes in time: each thread added would only take the GIL from the others.
    busy = BusyCore()
    executor = ElasticExecutor(core=1, max_workers=50, patience=5.0, queue_patience=0.02, busy_cores=0.3,
                               process_cpu=busy.process_cpu, thread_cpu=busy.thread_cpu)
    futures = [executor.submit(time.sleep, 0.005) for _ in range(100)]  # half a second: most wait past 20 ms
    for future in futures:
        future.result(timeout=10)
    assert executor.workers == 1
    executor.shutdown(wait=True)


def no_wait(threads: Iterable[threading.Thread]) -> dict[int, tuple[float, float]]:
    """Threads never on a CPU nor waiting for one, as threads waiting on the network are: a host with cores to
    spare, however loaded the one the tests run on."""
    return {thread.native_id: (0.0, 0.0) for thread in threads if thread.native_id is not None}


RunTimes = Callable[[Iterable[threading.Thread]], dict[int, tuple[float, float]]]
"""What `probe_pool.run_times` gives: each thread's seconds on a CPU and waiting for one, by its `native_id`."""


def shares_since(began: float, on_cpu: float, waiting: float) -> RunTimes:
    """Threads that since `began` spent the share `on_cpu` of the time on a CPU and `waiting` of it runnable but
    waiting for one."""
    def run_times(threads: Iterable[threading.Thread]) -> dict[int, tuple[float, float]]:
        spent = time.monotonic() - began
        return {thread.native_id: (on_cpu * spent, waiting * spent) for thread in threads
                if thread.native_id is not None}

    return run_times


def starved_since(began: float) -> RunTimes:
    """Threads runnable all along but given a CPU a tenth of the time, as on a host loaded by other work."""
    return shares_since(began, on_cpu=0.1, waiting=0.9)


def test_jobs_queued_while_the_host_gives_the_process_less_cpu_than_it_wants_get_no_more_threads() -> None:
    """The process uses little CPU (its jobs sleep), but its threads are said to wait, runnable, for a CPU 90 % of
    the time: the host is short of CPU, not the jobs waiting on the network, so the queued jobs get no threads. Each
    thread added took the GIL from the others: 1,000 nearby sites on a loaded host grew to 130-300 threads."""
    for reader, grows in ((starved_since(time.monotonic()), False), (no_wait, True)):
        executor = ElasticExecutor(core=1, max_workers=50, patience=5.0, queue_patience=0.02, busy_cores=0.3,
                                   thread_run_times=reader)
        try:
            futures = [executor.submit(time.sleep, 0.02) for _ in range(50)]  # a second on one thread
            for future in futures:
                future.result(timeout=10)
            assert (executor.workers > 1) is grows, reader
        finally:
            executor.shutdown(wait=True)


def busy_since(began: float) -> RunTimes:
    """Threads on a CPU 90 % of the time, rarely waiting for one: busy, on a host with a core to give them."""
    return shares_since(began, on_cpu=0.9, waiting=0.05)


@pytest.mark.parametrize(("host", "replaced"), [("starved", False), ("busy", True), ("waiting", True)])
def test_a_job_past_its_patience_whose_thread_waits_for_a_cpu_gets_no_replacement(host: str, replaced: bool) -> None:
    """Past `patience`, a job's thread is taken for one waiting on a slow site and replaced, unless it waited for a
    CPU most of the time since the last look: the host is short of CPU, as on a loaded host where every probe took
    over 100 ms, and a thread added would wait too. A thread busy on a CPU is replaced as before (a regex search lets
    the GIL go), as is one waiting on the network."""
    began = time.monotonic()
    reader = {"starved": starved_since(began), "busy": busy_since(began), "waiting": no_wait}[host]
    executor = ElasticExecutor(core=1, max_workers=4, patience=0.05, queue_patience=5.0, thread_run_times=reader)
    try:
        slow = executor.submit(time.sleep, 0.5)
        quick = executor.submit(lambda: None)
        assert quick.result(timeout=5) is None
        assert (not slow.done()) is replaced, "the quick job ran beside the slow one only on a thread added"
        slow.result(timeout=5)
    finally:
        executor.shutdown(wait=True)


def test_run_times_reads_each_running_threads_time_on_a_cpu_and_waiting_for_one() -> None:
    read = probe_pool.run_times([threading.current_thread(), threading.Thread(name="never started")])
    if read is None:
        pytest.skip("this system does not tell a thread's time waiting for a CPU (Linux's /proc/thread-self/schedstat)")
    number = threading.current_thread().native_id
    assert number is not None and list(read) == [number]
    on_cpu, waiting = read[number]
    assert on_cpu > 0.0 and waiting >= 0.0


@pytest.mark.parametrize("spinner_counted", [False, True])
def test_cpu_of_uncounted_threads_does_not_hold_back_threads_for_jobs_that_wait(spinner_counted: bool) -> None:
    busy = BusyCore()
    executor = ElasticExecutor(core=1, max_workers=50, patience=5.0, queue_patience=0.02, busy_cores=0.3,
                               uncounted=(lambda: ()) if spinner_counted else (lambda: (busy.spinner,)),
                               process_cpu=busy.process_cpu, thread_cpu=busy.thread_cpu, thread_run_times=no_wait)
    try:
        futures = [executor.submit(time.sleep, 0.05) for _ in range(20)]
        for future in futures:
            future.result(timeout=5)
        # Left out, the spinner's CPU does not make these waiting jobs look CPU-bound: they get threads.
        assert (executor.workers == 1) is spinner_counted
    finally:
        executor.shutdown(wait=True)


def test_where_no_thread_cpu_clock_can_be_read_the_whole_process_is_counted_and_stuck_jobs_still_rescued(
        ) -> None:
    busy = BusyCore()
    release = threading.Event()
    # Patience long enough that only the job waiting on `release` is ever stuck: the others take milliseconds.
    executor = ElasticExecutor(core=1, max_workers=50, patience=0.2, queue_patience=0.02, busy_cores=0.3,
                               uncounted=lambda: (busy.spinner,), process_cpu=busy.process_cpu,
                               thread_cpu=lambda _thread: None)  # as on macOS
    try:
        stuck = executor.submit(release.wait, 10)
        futures = [executor.submit(time.sleep, 0.005) for _ in range(40)]
        for future in futures:
            future.result(timeout=5)  # the watchdog lives: the stuck job's thread was replaced
        assert not stuck.done()
        # The spinner's CPU is counted after all: the jobs that waited got no threads beyond the replacement.
        assert executor.workers == 2
    finally:
        release.set()
        executor.shutdown(wait=True)


def test_a_threads_cpu_clock_reads_its_cpu_and_none_where_there_is_no_such_clock(
        monkeypatch: pytest.MonkeyPatch) -> None:
    spun, read, stop = threading.Event(), threading.Event(), threading.Event()
    own: list[float] = []  # the thread's CPU clock as it reads it itself, before and after the read from outside

    def spin() -> None:
        until = time.thread_time() + 0.02
        while time.thread_time() < until:
            pass
        own.append(time.thread_time())
        spun.set()
        read.wait(5)  # spends (next to) no CPU while the test reads its clock
        own.append(time.thread_time())
        stop.wait(5)

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        assert spun.wait(5)
        spent = probe_pool.thread_cpu_seconds(thread)
        read.set()
        wait_until(lambda: len(own) == 2, 5, "the thread's second reading")
        # Its own CPU clock, read in between: not the process's, nor the reading thread's.
        assert spent is not None and own[0] <= spent <= own[1]
        monkeypatch.setattr(probe_pool, "_THREAD_CPU_CLOCK", None)  # as on macOS
        assert probe_pool.thread_cpu_seconds(thread) is None
    finally:
        stop.set()
        thread.join(timeout=5)
    monkeypatch.undo()
    assert probe_pool.thread_cpu_seconds(thread) == 0.0  # ended: nothing left to leave out


class CountedPauses(threading.Event):
    """The watchdog's pause between two looks (`ElasticExecutor._stop_watch`), counted: proof it looked again."""

    def __init__(self) -> None:
        super().__init__()
        self.pauses = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.pauses += 1
        return super().wait(timeout)


def test_never_more_threads_than_max_workers() -> None:
    executor = ElasticExecutor(core=1, max_workers=3, patience=0.02, queue_patience=0.02)
    executor._stop_watch = pauses = CountedPauses()
    release = threading.Event()
    futures = [executor.submit(release.wait, 10) for _ in range(6)]
    queued = time.monotonic()
    wait_until(lambda: executor.workers >= 3, 5, "three threads", step=0.01)
    # Then two more looks, each with every thread stuck and three jobs queued past their patience: each look wants
    # more threads, for the stuck ones and for the overdue jobs; an overshoot would have happened.
    wait_until(lambda: time.monotonic() > queued + executor.queue_patience, 5, "the queued jobs overdue", step=0.01)
    looked = pauses.pauses
    wait_until(lambda: pauses.pauses >= looked + 3, 5, "the watchdog's next looks", step=0.01)
    assert executor.workers == 3
    release.set()
    assert all(f.result(timeout=2) for f in futures)
    executor.shutdown(wait=True)


def test_a_pool_allowed_more_threads_adds_them_for_its_stuck_jobs_and_is_never_allowed_fewer() -> None:
    # A reload from 10 sites to 1,000 far ones kept the pool at the 64 threads sized for the first config.
    executor = ElasticExecutor(core=1, max_workers=2, patience=0.02, queue_patience=0.02)
    release = threading.Event()
    futures = [executor.submit(release.wait, 10) for _ in range(6)]
    try:
        wait_until(lambda: executor.workers >= 2, 5, "two threads", step=0.01)
        executor.allow_at_least(1)  # fewer: no change
        assert executor.max_workers == 2
        executor.allow_at_least(5)
        wait_until(lambda: executor.workers >= 5, 5, "five threads once allowed", step=0.01)
        assert executor.max_workers == 5
    finally:
        release.set()
    assert all(f.result(timeout=2) for f in futures)
    assert executor.workers <= 5
    executor.shutdown(wait=True)


def test_threads_added_for_a_burst_of_slow_jobs_end_once_idle_though_quick_jobs_keep_coming() -> None:
    # A monitor's probes never stop coming: each job woke the thread idle the longest, so every surplus thread was
    # woken in turn within its idle timeout and none ended. A long run kept the most threads any burst of hanging
    # sites had needed (a -m of 150 sites: 57, then 85, 95, 139 threads over 25 minutes, up to 600 allowed).
    executor = ElasticExecutor(core=1, max_workers=20, patience=0.02, queue_patience=0.02, idle_timeout=1.0)
    release = threading.Event()
    slow = [executor.submit(release.wait, 10) for _ in range(12)]
    try:
        wait_until(lambda: executor.workers >= 12, 5, "a thread for each slow job", step=0.01)
    finally:
        release.set()
    assert all(f.result(timeout=5) for f in slow)
    deadline = time.monotonic() + 15.0  # a bound, not a figure: a surplus thread ends 1 s after its last job
    while executor.workers > 2 and time.monotonic() < deadline:
        assert executor.submit(lambda: True).result(timeout=5)  # the next quick job, one at a time
        time.sleep(0.005)
    assert executor.workers <= 2
    executor.shutdown(wait=True)


def test_shutdown_runs_queued_jobs_then_refuses_new_ones() -> None:
    executor = ElasticExecutor(core=1, max_workers=1, patience=5.0)
    ran: list[int] = []
    for n in range(5):
        executor.submit(ran.append, n)
    executor.shutdown(wait=True)
    assert ran == [0, 1, 2, 3, 4]
    with pytest.raises(RuntimeError):
        executor.submit(ran.append, 5)


def test_probe_pool_runs_scheduled_actions_and_drops_them_once_shut_down() -> None:
    pool = ProbePool(core=2, max_workers=4)
    seen = threading.Event()
    pool.schedule(lambda scheduler, state: seen.set())
    assert seen.wait(2)
    pool.executor.shutdown(wait=True)
    threads = set(threading.enumerate())
    late = threading.Event()
    pool.schedule(lambda scheduler, state: late.set()).dispose()
    # Nothing can run it: no thread was started for it (one that had run and ended would have set `late`).
    assert set(threading.enumerate()) <= threads
    assert not late.is_set() and pool.executor.workers == 0


def test_an_action_that_raises_is_reported_like_a_thread_exception_not_dropped(
        monkeypatch: pytest.MonkeyPatch) -> None:
    reported: list[tuple[type[BaseException], str, str]] = []

    def hook(args: threading.ExceptHookArgs) -> None:
        assert args.exc_value is not None and args.thread is not None
        reported.append((args.exc_type, str(args.exc_value), args.thread.name))

    monkeypatch.setattr(threading, "excepthook", hook)
    pool = ProbePool(core=1, max_workers=1)

    def broken_probe(scheduler: object, state: object) -> None:
        raise TypeError("a bug in a probe")

    pool.schedule(broken_probe)
    pool.schedule(lambda scheduler, state: None)
    pool.executor.shutdown(wait=True)
    assert reported == [(TypeError, "a bug in a probe", "probe-0")]


def test_core_must_fit_under_max_workers() -> None:
    with pytest.raises(ValueError, match="core <= max_workers"):
        ElasticExecutor(core=5, max_workers=2)


def test_shutdown_waits_for_every_job_even_if_the_watchdog_wakes_while_it_shuts_down() -> None:
    release = threading.Event()

    class LateStop(threading.Event):
        # As if shutdown were preempted between taking its list of threads and stopping the watchdog until the
        # watchdog has looked again: ended (it saw the shutdown), or given the overdue queued job a thread of its
        # own, one shutdown does not wait for. Then the running job ends.
        def set(self) -> None:
            watchdog = executor._watchdog
            assert watchdog is not None
            wait_until(lambda: not watchdog.is_alive() or second.running() or second.done(), 5,
                       "the watchdog's next look", step=0.01)
            release.set()
            super().set()

    executor = ElasticExecutor(core=1, max_workers=4, patience=5.0, queue_patience=0.05)
    executor._stop_watch = LateStop()
    first = executor.submit(release.wait, 5)
    second = executor.submit(time.sleep, 0.3)
    executor.shutdown(wait=True)
    assert first.done() and second.done()

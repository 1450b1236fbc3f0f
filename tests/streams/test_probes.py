"""Site clocks and probes in virtual time, probing a real server on 127.0.0.1.

With an immediate `io` scheduler the probe runs while virtual time stands still, so every probe's
timestamp is its tick's exact due time; with a thread pool, a hanging site's ticks are skipped.
"""

from __future__ import annotations

import itertools
import threading
import tracemalloc
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from reactivex import Observable, abc
from reactivex.scheduler import EventLoopScheduler, HistoricalScheduler, ImmediateScheduler, ThreadPoolScheduler
from reactivex.subject import BehaviorSubject
from reactivex.testing import ReactiveTest, TestScheduler

from bench.processes import wait_until
from monitoringapp.domain.config import Config, SiteConfig, parse_config
from monitoringapp.domain.events import ErrorKind, Probe
from monitoringapp.operators.typed import unbatched
from monitoringapp.streams.http_probe import HttpProber
from monitoringapp.streams.probes import (
    ConfigChange,
    ProbeFunction,
    ProbeOutcome,
    TickCounters,
    diff_sites,
    probe_batches,
)
from tests.local_http import LocalServer, local_server

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed


def probe_events(probe: ProbeFunction, clock: abc.SchedulerBase, io: abc.SchedulerBase, counters: TickCounters,
                 ) -> Callable[[Observable[Config]], Observable[Probe]]:
    """`probe_batches`, a probe at a time: what these tests count."""
    return lambda configs: configs.pipe(probe_batches(probe, clock, io, counters), unbatched())


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(hang_for=3.0) as running:
        yield running


def by_host(messages: list[object]) -> dict[str, list[tuple[float, float, int | None]]]:
    """Per host: (virtual time emitted, probe timestamp, status)."""
    seen: dict[str, list[tuple[float, float, int | None]]] = defaultdict(list)
    for message in messages:
        time, notification = message.time, message.value  # type: ignore[attr-defined]
        if notification.kind == "N":
            p: Probe = notification.value
            seen[p.host].append((time, p.timestamp, p.status))
    return dict(seen)


def test_each_probe_carries_its_ticks_exact_time_and_the_real_status(server: LocalServer,
                                                                     prober: HttpProber) -> None:
    ok, fail = server.url("/ok"), server.url("/fail")
    config = Config((SiteConfig(ok, 1.0, 1.0), SiteConfig(fail, 2.5, 1.0)))
    scheduler = TestScheduler()
    configs = scheduler.create_hot_observable(on_next(201, config))
    counters = TickCounters(lateness=array("d"))
    result = scheduler.start(
        lambda: configs.pipe(probe_events(prober.check, scheduler, ImmediateScheduler(), counters)), disposed=206.2)
    assert by_host(result.messages) == {
        ok: [(t, t, 200) for t in (201.0, 202.0, 203.0, 204.0, 205.0, 206.0)],
        fail: [(t, t, 500) for t in (201.0, 203.5, 206.0)],
    }
    probes = [m.value.value for m in result.messages]
    assert all(p.response_time_ms is not None and p.response_time_ms > 0 for p in probes)
    assert [p.available for p in probes if p.host == fail] == [False] * 3
    assert (counters.ticks, counters.skipped) == (9, 0)
    assert counters.lateness == array("d", [0.0] * 9)


def test_tick_lateness_is_kept_only_when_asked_and_then_in_eight_bytes_a_tick() -> None:
    # -m kept every tick's lateness as a Python float (32 bytes) whether or not --metrics would ever read it:
    # 23 MB after an hour of 200 sites at 1 s.
    # 20,000 ticks as floats in a list are 640 kB; some slack for what another thread may allocate meanwhile.
    ticks, slack = 20_000, 50_000
    unasked, asked = TickCounters(), TickCounters(lateness=array("d"))
    tracemalloc.start()
    try:
        for counters, allowed in ((unasked, slack), (asked, 8 * ticks * 1.25 + slack)):
            before = tracemalloc.get_traced_memory()[0]
            for n in range(ticks):
                counters.record(late=n * 1e-6)
            assert tracemalloc.get_traced_memory()[0] - before < allowed
    finally:
        tracemalloc.stop()
    assert (unasked.ticks, unasked.in_flight, unasked.lateness) == (ticks, ticks, None)
    assert asked.lateness is not None and len(asked.lateness) == ticks and asked.lateness[-1] == (ticks - 1) * 1e-6


def test_a_probe_still_in_flight_makes_its_site_skip_ticks_and_count_them(server: LocalServer,
                                                                         prober: HttpProber) -> None:
    site = SiteConfig(server.url("/hang"), 1.0, 0.3)
    scheduler = TestScheduler()
    io = ThreadPoolScheduler(max_workers=2)
    counters = TickCounters()
    emitted: list[Probe] = []
    configs = BehaviorSubject(Config((site,)))
    let_go = threading.Event()

    def held_check(checked: SiteConfig) -> ProbeOutcome:
        """The real probe, once the test lets it go: in flight until then, however long the test's thread is kept
        off the CPU (a 0.3 s timeout running meanwhile landed it before the ticks it must skip, now and then)."""
        assert let_go.wait(10)
        return prober.check(checked)

    configs.pipe(probe_events(held_check, scheduler, io, counters)).subscribe(emitted.append)
    scheduler.advance_to(5.5)  # ticks at 0..5 in virtual time, while the first probe is in flight for real
    assert (counters.ticks, counters.skipped) == (1, 5)
    let_go.set()  # it hangs now, for its timeout
    configs.on_completed()  # the clock stops; the probe in flight still lands
    io.executor.shutdown(wait=True)  # the probe ends by its 0.3 s timeout
    assert emitted == []  # its result waits for the clock
    scheduler.advance_to(5.6)
    assert emitted == [Probe(0.0, site.url, False, None, None, ErrorKind.TIMEOUT)]


def test_diff_sites_tells_added_removed_and_retimed_by_url() -> None:
    a, b, c, d = (SiteConfig(f"http://{n}.test/", 1.0, 1.0) for n in "abcd")
    c_slower = SiteConfig(c.url, 2.0, 1.0)
    b_shorter_timeout = SiteConfig(b.url, 1.0, 0.5)
    change = diff_sites((a, b, c), (a, c_slower, d))
    assert change == ConfigChange(added=(d.url,), removed=(b.url,), retimed=(c.url,),
                                  changed=((c.url, ("checkInterval",)),))
    assert diff_sites((a, b), (b_shorter_timeout, a)) == ConfigChange((), (), (b.url,),
                                                                     changed=((b.url, ("timeout",)),))
    assert change.summary() == f"sites +1 ({d.url}), -1 ({b.url}), ~1 ({c.url}: checkInterval)"
    many = diff_sites((), tuple(SiteConfig(f"http://{n}.test/", 1.0, 1.0) for n in range(5)))
    assert many.summary() == "sites +5 (http://0.test/, http://1.test/, http://2.test/ and 2 more)"
    assert ConfigChange((), (), (), ("alert settings", "reports")).summary() == (
        "sites unchanged; alert settings, reports changed")
    assert ConfigChange((), (), ()).summary() == "sites and settings unchanged"
    assert ConfigChange((), (), (), reordered=True).summary() == "sites reordered"
    assert ConfigChange((), (), (), ("notifications",), reordered=True).summary() == (
        "sites reordered; notifications changed")


def test_a_new_config_version_starts_stops_and_retimes_only_the_sites_that_changed(
        server: LocalServer, prober: HttpProber) -> None:
    a, b, c, d = (server.url(p) for p in ("/ok", "/fail", "/redirect/1", "/health"))
    v1 = Config((SiteConfig(a, 1.0, 1.0), SiteConfig(b, 2.0, 1.0), SiteConfig(c, 1.0, 1.0)))
    v2 = Config((SiteConfig(a, 1.0, 1.0), SiteConfig(c, 2.0, 1.0), SiteConfig(d, 1.0, 1.0)))
    scheduler = TestScheduler()
    configs = scheduler.create_hot_observable(on_next(201, v1), on_next(205.5, v2))
    result = scheduler.start(
        lambda: configs.pipe(probe_events(prober.check, scheduler, ImmediateScheduler(), TickCounters())),
        disposed=210.2)
    assert diff_sites(v1.sites, v2.sites) == ConfigChange(added=(d,), removed=(b,), retimed=(c,),
                                                          changed=((c, ("checkInterval",)),))
    seen = by_host(result.messages)
    assert [t for _, t, _ in seen[a]] == [201.0 + n for n in range(10)]  # undisturbed, same grid
    assert [t for _, t, _ in seen[b]] == [201.0, 203.0, 205.0]
    assert [t for _, t, _ in seen[c]] == [201.0, 202.0, 203.0, 204.0, 205.0, 205.5, 207.5, 209.5]
    assert [t for _, t, _ in seen[d]] == [205.5 + n for n in range(5)]
    assert {status for _, _, status in seen[c]} == {200}
    assert all(at == t for host in seen.values() for at, t, _ in host)


def test_when_the_config_stream_completes_the_clocks_stop_and_the_stream_completes_once_probes_landed(
        server: LocalServer, prober: HttpProber) -> None:
    config = Config((SiteConfig(server.url("/ok"), 1.0, 1.0),))
    scheduler = TestScheduler()
    configs = scheduler.create_hot_observable(on_next(201, config), on_completed(203.2))
    result = scheduler.start(
        lambda: configs.pipe(probe_events(prober.check, scheduler, ImmediateScheduler(), TickCounters())),
        disposed=210)
    # An immediate io scheduler has nothing in flight at the stop: the stream completes then.
    assert [(m.time, m.value.kind) for m in result.messages] == [(201, "N"), (202, "N"), (203, "N"), (203.2, "C")]


def test_on_a_real_clock_results_arrive_one_at_a_time_on_the_clock_and_a_hanging_site_delays_no_other(
        server: LocalServer, prober: HttpProber) -> None:
    fast = [SiteConfig(f"{server.url('/ok')}?site={i}", 0.1, 1.0) for i in range(8)]
    hanging = SiteConfig(server.url("/hang"), 0.2, 1.0)
    configs = BehaviorSubject(Config((hanging, *fast)))
    clock, io = EventLoopScheduler(), ThreadPoolScheduler(max_workers=16)
    counters = TickCounters()
    received: list[Probe] = []
    threads: set[str] = set()
    lock = threading.Lock()
    active = overlaps = 0

    def on_probe(p: Probe) -> None:
        nonlocal active, overlaps
        with lock:
            active += 1
            overlaps += active > 1
        threads.add(threading.current_thread().name)  # one thread: no two calls can overlap, however brief
        received.append(p)
        with lock:
            active -= 1

    landed = threading.Event()
    subscription = configs.pipe(probe_events(prober.check, clock, io, counters)).subscribe(
        on_probe, on_completed=landed.set)
    # On until the hanging site's first probe has timed out (1 s), its ticks meanwhile skipped.
    wait_until(lambda: counters.skipped >= 4 and any(p.host == hanging.url for p in list(received)), 10,
               "the hanging site's first timeout", step=0.01)
    clock.schedule(lambda *_: configs.on_completed())  # the clocks stop; probes in flight still arrive
    assert landed.wait(5.0)  # the stream completes once they have
    io.executor.shutdown(wait=True)
    subscription.dispose()
    clock.dispose()

    assert overlaps == 0
    assert len(threads) == 1 and not threads & {threading.current_thread().name}
    assert not any(name.startswith("ThreadPoolExecutor") for name in threads)
    hung = [p for p in received if p.host == hanging.url]
    landed_before_timeout = received[:received.index(hung[0])]
    for site in fast:
        times = [p.timestamp for p in received if p.host == site.url]
        # While the hanging probe was in flight, each site's probes ticked after it landed: blocked behind it, none
        # would land before its timeout.
        assert any(p.host == site.url and p.timestamp > hung[0].timestamp for p in landed_before_timeout), site.url
        steps = [(b - a) / 0.1 for a, b in itertools.pairwise(times)]
        assert all(abs(step - round(step)) < 1e-4 and round(step) >= 1 for step in steps)  # on the grid
    assert {p.error for p in hung} == {ErrorKind.TIMEOUT}
    assert counters.skipped >= 4  # the hanging site's ticks at 0.2, 0.4, 0.6, 0.8 s


def test_a_site_whose_headers_or_conditions_changed_keeps_its_clock_and_probes_with_them_from_its_next_tick(
        server: LocalServer, prober: HttpProber) -> None:
    # Not re-timed (no extra probe at the reload, no new grid), yet not probing with the old request either.
    text = ('{"websites": [{"URL": "%s", "checkInterval": 2, "headers": {"Authorization": "Bearer %s"}%s}]}')
    url = server.url("/ok")
    v1 = parse_config(text % (url, "one", ""))
    v2 = parse_config(text % (url, "two", ', "expectedStatus": 404'))
    scheduler = TestScheduler()
    configs = scheduler.create_hot_observable(on_next(201, v1), on_next(204.5, v2))
    result = scheduler.start(
        lambda: configs.pipe(probe_events(prober.check, scheduler, ImmediateScheduler(), TickCounters())),
        disposed=208.2)
    assert [(t, p.available) for t, p in by_time(result.messages)] == [
        (201.0, True), (203.0, True), (205.0, False), (207.0, False)]  # the old grid; 200 is not 404 from 205
    assert server.authorizations >= {"Bearer one", "Bearer two"}
    change = diff_sites(v1.sites, v2.sites)
    assert change == ConfigChange((), (), (), changed=((url, ("headers", "expectedStatus")),))
    assert change.summary() == f"sites ~1 ({url}: headers, expectedStatus)"
    many = ConfigChange((), (), ("http://a/",), changed=tuple((f"http://{n}/", ("timeout",)) for n in "abcd"))
    assert many.summary() == "sites ~4 (http://a/: timeout; http://b/: timeout; http://c/: timeout and 1 more)"


def by_time(messages: list[object]) -> list[tuple[float, Probe]]:
    return [(message.value.value.timestamp, message.value.value) for message in messages  # type: ignore[attr-defined]
            if message.value.kind == "N"]  # type: ignore[attr-defined]


def test_a_site_re_timed_while_its_probe_is_in_flight_skips_the_new_clocks_first_tick(
        server: LocalServer, prober: HttpProber) -> None:
    # The io scheduler is virtual too: a probe it was handed stays in flight until it is advanced.
    start = datetime(2026, 1, 1, tzinfo=UTC)
    clock, io = HistoricalScheduler(start), HistoricalScheduler(start)
    site = SiteConfig(server.url("/ok"), 2.0, 1.0)
    configs = BehaviorSubject(Config((site,)))
    counters = TickCounters()
    received: list[Probe] = []
    subscription = configs.pipe(probe_events(prober.check, clock, io, counters)).subscribe(received.append)
    clock.advance_by(timedelta(seconds=1))                 # tick at +0: its probe is handed to io
    configs.on_next(Config((SiteConfig(site.url, 3.0, 1.0),)))  # re-timed: the new clock ticks at once
    clock.advance_by(timedelta(seconds=1))                 # ... and finds the old clock's probe in flight
    assert (counters.ticks, counters.skipped) == (1, 1)
    io.advance_by(timedelta(seconds=1))                    # the probe ends; its result hops to the clock
    clock.advance_by(timedelta(seconds=3))                 # delivered, and the tick at +4 probes again
    io.advance_by(timedelta(seconds=1))
    clock.advance_by(timedelta(seconds=1))
    subscription.dispose()
    start_s = start.timestamp()
    assert [(p.timestamp - start_s, p.status) for p in received] == [(0.0, 200), (4.0, 200)]
    assert (counters.ticks, counters.skipped) == (2, 1)

"""`window_reports` in virtual time: one Report per requested span, at the request's exact time.

Probes and requests are hot observables merged into the one stream the operator takes, as the graph does."""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter

import pytest
import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from monitoringapp.domain.events import ERROR_NUMBER, ErrorKind, Probe, Report, ReportRequest, WindowStats
from monitoringapp.operators.reports import window_reports
from monitoringapp.operators.stats import nearest_rank

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed
A, B = "http://a.test/", "http://b.test/"


def row(host: str, span: float, now: float, checks: int, available: int, rts: tuple[float, ...],
        statuses: tuple[tuple[int, int], ...] = (), errors: tuple[tuple[ErrorKind, int], ...] = (),
        downtime: float | None = None, since_failure: float | None = None) -> WindowStats:
    """The stats row expected, response-time fields from the (sorted) response times given."""
    return WindowStats(
        host, span, now, checks, available,
        rt_min=rts[0] if rts else None, rt_avg=sum(rts) / len(rts) if rts else None,
        rt_p50=rts[(len(rts) + 1) // 2 - 1] if rts else None,
        rt_p90=rts[-1] if rts else None, rt_p99=rts[-1] if rts else None, rt_max=rts[-1] if rts else None,
        status_counts=statuses, error_counts=errors, current_downtime=downtime, since_last_failure=since_failure)


def test_reports_come_at_each_request_with_exact_rows_and_a_wider_span_on_demand() -> None:
    scheduler = TestScheduler()
    probes = scheduler.create_hot_observable(
        on_next(210, Probe(210, A, True, 200, 1.0)),
        on_next(212, Probe(212, B, False, 500, 2.0)),
        on_next(215, Probe(215, A, True, 200, 3.0)),
        on_next(222, Probe(222, A, False, None, None, ErrorKind.TIMEOUT)),
        on_completed(300),
    )
    requests = scheduler.create_hot_observable(
        on_next(216, ReportRequest(216, (10.0,))),
        on_next(225, ReportRequest(225, (10.0, 20.0))),
        on_completed(300),  # the merged stream completes once both have
    )
    result = scheduler.start(lambda: reactivex.merge(probes, requests).pipe(window_reports((10.0,))))
    assert result.messages == [
        on_next(216, Report(216, 10.0, (
            row(A, 10.0, 216, 2, 2, (1.0, 3.0), ((200, 2),)),
            row(B, 10.0, 216, 1, 0, (2.0,), ((500, 1),), downtime=4.0, since_failure=4.0),
        ))),
        # (215, 225]: A's 222 only; B has no check left, so no row.
        on_next(225, Report(225, 10.0, (
            row(A, 10.0, 225, 1, 0, (), errors=((ErrorKind.TIMEOUT, 1),), downtime=3.0, since_failure=3.0),
        ))),
        # The 20 s span was asked for late; the probes still kept since 205 fill it.
        on_next(225, Report(225, 20.0, (
            row(A, 20.0, 225, 3, 2, (1.0, 3.0), ((200, 2),), ((ErrorKind.TIMEOUT, 1),), 3.0, 3.0),
            row(B, 20.0, 225, 1, 0, (2.0,), ((500, 1),), downtime=13.0, since_failure=13.0),
        ))),
        on_completed(300),
    ]


def test_history_fills_the_first_report_after_a_restart() -> None:
    scheduler = TestScheduler()
    history = (Probe(150, A, True, 200, 4.0), Probe(151, A, True, 200, 5.0), Probe(195, A, False, 503, 7.0))
    probes = scheduler.create_hot_observable(on_next(205, Probe(205, A, True, 200, 6.0)))
    requests = scheduler.create_hot_observable(on_next(210, ReportRequest(210, (60.0,))))
    result = scheduler.start(lambda: reactivex.merge(probes, requests).pipe(window_reports((60.0,), history)))
    assert result.messages == [
        # (150, 210]: the stored probe at 150 is just out.
        on_next(210, Report(210, 60.0, (
            row(A, 60.0, 210, 3, 2, (5.0, 6.0, 7.0), ((200, 2), (503, 1)), since_failure=15.0),
        ))),
    ]


def test_a_site_left_out_of_the_requests_hosts_leaves_the_reports_at_once() -> None:
    scheduler = TestScheduler()
    probes = scheduler.create_hot_observable(
        on_next(210, Probe(210, A, True, 200, 1.0)),
        on_next(211, Probe(211, B, True, 200, 2.0)),
    )
    requests = scheduler.create_hot_observable(
        on_next(215, ReportRequest(215, (60.0,), frozenset({A, B}))),
        on_next(220, ReportRequest(220, (60.0,), frozenset({A}))),      # B removed by a reload
        on_next(225, ReportRequest(225, (60.0,), frozenset({A, B}))),   # and added back: it starts afresh
    )
    result = scheduler.start(lambda: reactivex.merge(probes, requests).pipe(window_reports((60.0,))))
    assert [tuple(r.host for r in m.value.value.rows) for m in result.messages] == [(A, B), (A,), (A,)]


def test_probes_in_batches_give_the_reports_they_give_one_at_a_time() -> None:
    probes = [Probe(float(t), host, t % 7 != 3, 200 if t % 7 != 3 else 503, float(t % 5 + 1))
              for t in range(1, 31) for host in (A, B)]
    requests = [ReportRequest(float(t), (10.0, 20.0)) for t in (10, 20, 30)]

    def in_time_order(batched: bool) -> list[Probe | tuple[Probe, ...] | ReportRequest]:
        events: list[Probe | tuple[Probe, ...] | ReportRequest] = []
        for second in range(1, 31):
            same_second = tuple(p for p in probes if p.timestamp == second)
            events.extend([same_second] if batched else same_second)
            events.extend(r for r in requests if r.now == second)
        return events

    reports: dict[bool, list[Report]] = {True: [], False: []}
    for batched, found in reports.items():
        reactivex.from_iterable(in_time_order(batched)).pipe(window_reports((10.0,))).subscribe(found.append)
    assert reports[True] == reports[False]
    last = reports[True][-1]  # over (10, 30]: t = 11 .. 30, of which 17 and 24 are down (t % 7 == 3)
    assert (last.timestamp, last.span) == (30.0, 20.0)
    assert [(r.host, r.checks, r.available) for r in last.rows] == [(A, 20, 18), (B, 20, 18)]
    assert len(reports[True]) == 6


def test_no_report_spans_hold_nothing_until_a_request_asks_for_one() -> None:
    # A config of `"reports": []`: no report is ever due at start; a reload that adds one starts its window then.
    scheduler = TestScheduler()
    probes = scheduler.create_hot_observable(
        on_next(210, Probe(210, A, True, 200, 1.0)),
        on_next(222, Probe(222, A, False, 503, 2.0)),
        on_completed(300),
    )
    requests = scheduler.create_hot_observable(
        on_next(220, ReportRequest(220, (60.0,))),
        on_next(230, ReportRequest(230, (60.0,))),
        on_completed(300),
    )
    result = scheduler.start(lambda: reactivex.merge(probes, requests).pipe(window_reports(())))
    assert result.messages == [
        on_next(220, Report(220, 60.0, ())),  # the probe at 210 came while no window was kept
        # Asked for at 220, the window has held every probe since.
        on_next(230, Report(230, 60.0, (
            row(A, 60.0, 230, 1, 0, (2.0,), ((503, 1),), downtime=8.0, since_failure=8.0),
        ))),
        on_completed(300),
    ]


def brute_force_row(host: str, span: float, now: float, given: list[Probe]) -> WindowStats | None:
    """A site's row over (now - span, now] from every probe it was given, by sorting and counting afresh."""
    inside = [p for p in given if now - span < p.timestamp <= now]
    if not inside:
        return None
    received = sorted(p.response_time_ms for p in inside if p.response_time_ms is not None)
    failures = [p.timestamp for p in given if not p.available]
    run_start = None
    for p in given:  # the first failure of the run the latest probe ends
        run_start = None if p.available else (p.timestamp if run_start is None else run_start)
    errors = Counter(p.error for p in inside if p.error is not None)
    return WindowStats(
        host, span, now, len(inside), sum(p.available for p in inside),
        received[0] if received else None, math.fsum(received) / len(received) if received else None,
        *((nearest_rank(received, fraction) for fraction in (0.50, 0.90, 0.99)) if received else (None,) * 3),
        received[-1] if received else None,
        tuple(sorted(Counter(p.status for p in inside if p.status).items())),
        tuple(sorted(errors.items(), key=lambda counted: ERROR_NUMBER[counted[0]])),
        None if run_start is None else now - run_start, now - failures[-1] if failures else None)


@pytest.mark.parametrize(("seed", "statuses"), [(0, (200, 500)), (1, (200,)), (2, (200, 301, 404, 500, 503)),
                                                (3, tuple(range(100, 140))), (4, tuple(range(100, 400)))])
def test_every_report_row_equals_a_sort_and_a_count_of_its_span_over_random_streams(
        seed: int, statuses: tuple[int, ...]) -> None:
    """Random streams of several sites' probes (one at a time and in batches; no response, 0 ms, tiny and huge
    times; few outcomes, more than 16, more than 256) and requests for random sets of spans at random times:
    every row of every report is exactly what sorting and counting the span's probes afresh gives, nearest-rank
    percentiles and the mean (`math.fsum`) included."""
    chooser = random.Random(seed)
    hosts = [f"http://{n}.test/" for n in range(4)]
    spans = (5.0, 30.0, 100.0)
    at = 0.0
    given: dict[str, list[Probe]] = {}
    events: list[Probe | tuple[Probe, ...] | ReportRequest] = []
    expected: list[Report] = []
    for _ in range(1500):
        at += chooser.choice((0.0, 0.5, 1.0, 1.0, 2.0))
        if chooser.random() < 0.15:
            request = ReportRequest(at, tuple(chooser.sample(spans, chooser.randint(1, 3))))
            events.append(request)
            for span in request.spans:
                rows = [brute_force_row(host, span, at, probes) for host, probes in given.items()]
                expected.append(Report(at, span, tuple(row for row in rows if row is not None)))
            continue
        batch = []
        for host in chooser.sample(hosts, chooser.randint(1, len(hosts))):
            error = chooser.choice(list(ErrorKind)) if chooser.random() < 0.1 else None
            rt = None if error is not None else float(array("f", [chooser.choice(
                (0.0, 1e-30, 2.0 ** 60, chooser.uniform(0.05, 50.0), chooser.uniform(0.05, 50.0)))])[0])
            status = None if rt is None else chooser.choice(statuses)
            probe = Probe(at, host, rt is not None and chooser.random() < 0.9, status, rt, error)
            given.setdefault(host, []).append(probe)
            batch.append(probe)
        events.extend([tuple(batch)] if chooser.random() < 0.5 else batch)
    found: list[Report] = []
    reactivex.from_iterable(events).pipe(window_reports(spans)).subscribe(found.append)
    assert found == expected
    assert sum(len(report.rows) for report in found) > 300

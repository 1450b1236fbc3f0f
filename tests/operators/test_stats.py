"""`window_stats`: nearest-rank percentiles, None (never inf or NaN) without responses, counts, downtime."""

from __future__ import annotations

import math

import pytest

from monitoringapp.domain.events import ErrorKind, Probe
from monitoringapp.operators.stats import nearest_rank, window_stats
from monitoringapp.operators.window import SlidingWindow

SITE = "http://site.test/"


def window_of(*probes: Probe, span: float = 100.0) -> SlidingWindow:
    window = SlidingWindow((span,))
    for p in probes:
        window.add(p)
    return window


def answered(at: float, rt: float, status: int = 200) -> Probe:
    return Probe(at, SITE, status < 400, status, rt)


def unanswered(at: float, error: ErrorKind = ErrorKind.TIMEOUT) -> Probe:
    return Probe(at, SITE, False, None, None, error)


@pytest.mark.parametrize(("fraction", "expected"), [(0.0, 1), (0.1, 1), (0.5, 5), (0.51, 6), (0.9, 9), (1.0, 10)])
def test_nearest_rank_is_the_smallest_value_with_that_share_at_or_below(fraction: float, expected: float) -> None:
    assert nearest_rank([float(v) for v in range(1, 11)], fraction) == expected


def test_percentiles_are_nearest_rank_over_the_responses_received() -> None:
    probes = [answered(float(i), float(101 - i)) for i in range(1, 101)]  # rt 100 down to 1
    stats = window_stats(SITE, window_of(*probes, unanswered(101.0)), 100.0, 101.0)
    assert (stats.checks, stats.available) == (100, 99)  # (1, 101]: probe 1 is out
    # 99 received, rt 1..99 (the probe at 1, rt 100, left): ranks ceil(49.5), ceil(89.1), ceil(98.01)
    assert (stats.rt_min, stats.rt_p50, stats.rt_p90, stats.rt_p99, stats.rt_max) == (1.0, 50.0, 90.0, 99.0, 99.0)
    assert stats.rt_avg == pytest.approx(50.0)


def test_a_500_is_a_response_and_counts_in_response_times() -> None:
    stats = window_stats(SITE, window_of(answered(1.0, 4.0), answered(2.0, 8.0, status=500)), 100.0, 2.0)
    assert (stats.checks, stats.available, stats.availability) == (2, 1, 0.5)
    assert (stats.rt_min, stats.rt_avg, stats.rt_max) == (4.0, 6.0, 8.0)


def test_no_response_in_the_window_gives_none_not_inf_or_nan() -> None:
    stats = window_stats(SITE, window_of(unanswered(1.0), unanswered(2.0, ErrorKind.CONNECTION)), 100.0, 2.0)
    assert (stats.checks, stats.available, stats.availability) == (2, 0, 0.0)
    assert (stats.rt_min, stats.rt_avg, stats.rt_p50, stats.rt_p90, stats.rt_p99, stats.rt_max) == (None,) * 6


def test_an_empty_window_has_no_availability_and_no_response_times() -> None:
    window = window_of(answered(1.0, 3.0), span=10.0)
    stats = window_stats(SITE, window, 10.0, 50.0)
    assert (stats.checks, stats.availability, stats.rt_avg, stats.status_counts) == (0, None, None, ())
    for value in (stats.rt_min, stats.rt_max, stats.current_downtime):
        assert value is None or math.isfinite(value)


def test_status_and_error_counts_are_sorted_and_exclude_no_response() -> None:
    probes = [answered(1.0, 1.0), answered(2.0, 1.0, 503), answered(3.0, 1.0), answered(4.0, 1.0, 500),
              unanswered(5.0), unanswered(6.0, ErrorKind.CONNECTION), unanswered(7.0), answered(8.0, 1.0)]
    stats = window_stats(SITE, window_of(*probes), 100.0, 8.0)
    assert stats.status_counts == ((200, 3), (500, 1), (503, 1))
    assert stats.error_counts == ((ErrorKind.TIMEOUT, 2), (ErrorKind.CONNECTION, 1))


def test_current_downtime_runs_from_the_first_failure_of_the_ongoing_run() -> None:
    window = window_of(answered(0.0, 1.0), unanswered(2.0), answered(4.0, 1.0, 500))
    stats = window_stats(SITE, window, 100.0, 5.0)
    assert (stats.current_downtime, stats.since_last_failure) == (3.0, 1.0)
    window.add(answered(6.0, 1.0))
    stats = window_stats(SITE, window, 100.0, 7.0)
    assert (stats.current_downtime, stats.since_last_failure) == (None, 3.0)


def test_downtime_outlives_the_window_it_started_in() -> None:
    window = window_of(unanswered(0.0), unanswered(30.0), span=10.0)
    stats = window_stats(SITE, window, 10.0, 35.0)
    assert (stats.checks, stats.current_downtime, stats.since_last_failure) == (1, 35.0, 5.0)

"""Stats of one site over one window: a `SlidingWindow` and a span in, `WindowStats` out."""

from __future__ import annotations

import math
from collections.abc import Sequence

from monitoringapp.domain.events import ERROR_BY_NUMBER, WindowStats
from monitoringapp.operators.window import SlidingWindow


def nearest_rank(ordered: Sequence[float], fraction: float) -> float:
    """The smallest value with at least `fraction` of `ordered` at or below it."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def window_stats(host: str, window: SlidingWindow, span: float, now: float) -> WindowStats:
    """Checks, availability, response-time percentiles, status and error counts over (now - span, now]."""
    window.advance(now)
    ordered = window.ordered(span)
    times = ordered.values
    checks, available, statuses, errors = window.tallies(span)
    failing_since, last_failure = window.failing_since, window.last_failure
    received = len(times)
    rt_min: float | None
    rt_avg: float | None
    rt_max: float | None
    rt_p50: float | None
    rt_p90: float | None
    rt_p99: float | None
    if received:
        # Nearest rank, as `nearest_rank` says, inlined: a report computes this for every site and span. With
        # at least one time received, each rank is at least 1 already.
        rt_min, rt_avg, rt_max = times[0], ordered.mean(), times[-1]
        rt_p50 = times[math.ceil(0.50 * received) - 1]
        rt_p90 = times[math.ceil(0.90 * received) - 1]
        rt_p99 = times[math.ceil(0.99 * received) - 1]
    else:
        rt_min = rt_avg = rt_max = rt_p50 = rt_p90 = rt_p99 = None
    return WindowStats(host, span, now, checks, available, rt_min, rt_avg, rt_p50, rt_p90, rt_p99, rt_max,
                       statuses, tuple([(ERROR_BY_NUMBER[code], n) for code, n in errors]) if errors else (),
                       None if failing_since is None else now - failing_since,
                       None if last_failure is None else now - last_failure)

"""Stats of one site over one window: a `SlidingWindow` and a span in, `WindowStats` out."""

from __future__ import annotations

import math
from bisect import bisect_left

from monitoringapp.domain.events import WindowStats
from monitoringapp.operators.window import NO_RESPONSE, SlidingWindow


def nearest_rank(ordered: list[float], fraction: float) -> float:
    """The smallest value with at least `fraction` of `ordered` at or below it."""
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def window_stats(host: str, window: SlidingWindow, span: float, now: float) -> WindowStats:
    """Checks, availability, response-time percentiles, status and error counts over (now - span, now]."""
    window.advance(now)
    checks, available = window.counts(span)
    ordered = sorted(window.columns(span)[0])
    received = ordered[bisect_left(ordered, 0.0):] if ordered and ordered[0] == NO_RESPONSE else ordered
    status_counts, error_counts = window.code_counts(span)
    has_rt = bool(received)
    return WindowStats(
        host=host,
        span=span,
        now=now,
        checks=checks,
        available=available,
        rt_min=received[0] if has_rt else None,
        rt_avg=math.fsum(received) / len(received) if has_rt else None,
        rt_p50=nearest_rank(received, 0.50) if has_rt else None,
        rt_p90=nearest_rank(received, 0.90) if has_rt else None,
        rt_p99=nearest_rank(received, 0.99) if has_rt else None,
        rt_max=received[-1] if has_rt else None,
        status_counts=tuple(sorted(status_counts.items())),
        error_counts=tuple(error_counts.items()),
        current_downtime=now - window.failing_since if window.failing_since is not None else None,
        since_last_failure=now - window.last_failure if window.last_failure is not None else None,
    )

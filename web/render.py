"""What the page and the API show: figures as text, a site as JSON, charts as SVG coordinates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitoringapp.domain.events import Probe
from monitoringapp.domain.timefmt import format_duration, iso_utc
from monitoringapp.operators.rollup import RELATIVE_ERROR, Rollup
from monitoringapp.web.board import DayFigures, SiteStatus, State

NO_VALUE = "\N{EN DASH}"
PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


def percent(fraction: float | None) -> str:
    if fraction is None:
        return NO_VALUE
    if fraction >= 1.0:
        return "100%"
    return f"{min(fraction * 100, 99.99):.2f}%"  # 99.999 is not shown as 100%


def milliseconds(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:,.1f} ms"


def clock_time(seconds: float) -> str:
    """`2026-11-24 12:03 UTC`."""
    return iso_utc(seconds)[:16].replace("T", " ") + " UTC"


def since_text(status: SiteStatus, now: float) -> str:
    if status.since is None:
        return "never probed" if status.state is State.NO_DATA else ""
    ago = format_duration(now - status.since)
    if status.state is State.NO_DATA:
        return f"last probe {clock_time(status.since)} ({ago} ago)"
    if status.state is State.UP:
        return ""
    return f"since {clock_time(status.since)} ({ago})"


def uptime_class(uptime: float | None) -> str:
    """The colour class of a bar: u-full (99.9 % up or more), u-high, u-mid, u-low (under 95 %), u-none."""
    if uptime is None:
        return "u-none"
    if uptime >= 0.999:
        return "u-full"
    if uptime >= 0.99:
        return "u-high"
    if uptime >= 0.95:
        return "u-mid"
    return "u-low"


def day_title(day: DayFigures, now: float) -> str:
    date = iso_utc(day.start)[:10]
    if not day.checks:
        text = f"{date}: no data"
    else:
        text = f"{date}: {percent(day.uptime)} up ({day.available:,} of {day.checks:,} checks)"
    for start, end in day.outages:
        until = end if end is not None else now
        ending = iso_utc(end)[11:16] if end is not None else "ongoing"
        text += f"; outage {iso_utc(start)[11:16]} to {ending} UTC ({format_duration(until - start)})"
    return text


def polylines(values: Sequence[float | None], width: float, height: float,
              top: float | None = None) -> list[str]:
    """SVG `points` of the runs of known values, scaled to width by height (y down), up to `top` (their max)."""
    known = [v for v in values if v is not None]
    if not known:
        return []
    highest = top if top is not None else max(known)
    highest = highest or 1.0
    step = width / max(1, len(values) - 1)
    runs: list[str] = []
    run: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if run:
                runs.append(" ".join(run))
            run = []
            continue
        y = height - min(value, highest) / highest * (height - 2) - 1
        run.append(f"{i * step:.1f},{y:.1f}")
    if run:
        runs.append(" ".join(run))
    return [points if " " in points else f"{points} {points}" for points in runs]


def probe_json(probe: Probe | None) -> dict[str, Any] | None:
    if probe is None:
        return None
    return {"timestamp": iso_utc(probe.timestamp), "available": probe.available, "status": probe.status,
            "responseTimeMs": probe.response_time_ms,
            "errorKind": probe.error.value if probe.error is not None else None, "detail": probe.detail}


def site_json(status: SiteStatus, now: float) -> dict[str, Any]:
    """A site as the API and the live events give it."""
    return {
        "id": status.id,
        "url": status.url,
        "state": status.state.value,
        "label": status.label,
        "since": iso_utc(status.since) if status.since is not None else None,
        "sinceText": since_text(status, now),
        "uptime": {label: value for label, value in status.uptime},
        "uptimeText": {label: percent(value) for label, value in status.uptime},
        "lastProbe": probe_json(status.latest),
    }


def rollup_json(rollup: Rollup) -> dict[str, Any]:
    sketch = rollup.sketch
    return {
        "start": iso_utc(rollup.start),
        "checks": rollup.checks,
        "available": rollup.available,
        "availability": rollup.availability,
        "responseTimeMs": {
            "count": rollup.rt_count, "min": rollup.rt_min, "avg": rollup.rt_avg, "max": rollup.rt_max,
            **{name: sketch.percentile(fraction) for name, fraction in PERCENTILES},
        },
        "outcomes": dict(sorted(rollup.outcomes.items())),
    }


APPROXIMATE = {"relativeError": RELATIVE_ERROR,
               "note": f"p50, p90 and p99 are read from a sketch: within ±{RELATIVE_ERROR:.0%} of the exact value"}

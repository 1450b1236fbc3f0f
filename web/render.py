"""What the page and the API show: figures as text, a site as JSON, charts as SVG coordinates."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from markupsafe import Markup, escape

from monitoringapp.domain.events import Probe, down_reason
from monitoringapp.domain.percent import percent_text
from monitoringapp.domain.timefmt import format_duration, iso_utc
from monitoringapp.operators.certificate_watch import expiry_text
from monitoringapp.operators.rollup import DAY, RELATIVE_ERROR, Rollup
from monitoringapp.web.board import HISTORY_DAYS, SPARK_STEP, DayFigures, SiteStatus, State, StatusBoard

NO_VALUE = "\N{EN DASH}"
# 100 %, then the bounds of the bars' colours (uptime_class): an uptime under one never reads as it.
_UPTIME_BOUNDS = (1.0, 0.999, 0.99, 0.95)
PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


def percent(fraction: float | None) -> str:
    """`99.95%`: an uptime just under 100 % or one of the bars' colour bounds reads under it (99.999 % as 99.99 %,
    not 100.00 %; 98.996 % in a bar under 99 % as 98.99 %)."""
    if fraction is None:
        return NO_VALUE
    if fraction >= 1.0:
        return "100%"
    return percent_text(fraction, 2, _UPTIME_BOUNDS)


def milliseconds(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:,.1f} ms"


def clock_time(seconds: float) -> str:
    """`2026-11-24 12:03 UTC`."""
    return iso_utc(seconds)[:16].replace("T", " ") + " UTC"


def since_text(status: SiteStatus, now: float | None) -> str:
    """`since 2026-11-24 12:03 UTC (5m00s)`; without `now`, without the duration (a live update, which
    would otherwise change every second)."""
    if status.since is None:
        return "never probed" if status.state is State.NO_DATA else ""
    if now is None:
        prefix = "last probe" if status.state is State.NO_DATA else "since"
        return "" if status.state is State.UP else f"{prefix} {clock_time(status.since)}"
    ago = format_duration(now - status.since)
    if status.state is State.NO_DATA:
        return f"last probe {clock_time(status.since)} ({ago} ago)"
    if status.state is State.UP:
        return ""
    return f"since {clock_time(status.since)} ({ago})"


def headline(states: Sequence[State]) -> str:
    """The status page's heading, from every site's state: how many sites are in trouble (alerting or down),
    else how many are up. A site with no data is not up: `2 of 5 sites up, 3 with no data`."""
    total = len(states)
    if not total:
        return "No sites yet"
    trouble = sum(1 for state in states if state in (State.ALERTING, State.DOWN))
    up = sum(1 for state in states if state is State.UP)
    if total == 1:  # "All 1 site up" of a page that watches one
        return "The site is in trouble" if trouble else "The site is up" if up else "The site has no data yet"
    if trouble:
        return f"{trouble} of {total} sites in trouble"
    if up == total:
        return f"All {total} sites up"
    return f"{up} of {total} sites up, {total - up} with no data"


def per_step(seconds: float) -> str:
    """What one step of a chart spans, for its note: `day`, `hour`, `15 minutes` (`per 1440 minutes` said a day)."""
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds == length:
            return unit
        if seconds > length and seconds % length == 0:
            return f"{int(seconds // length)} {unit}s"
    return f"{seconds:g} seconds"


def uptime_class(uptime: float | None) -> str:
    """The colour class of a bar: u-full (99.9 % up or more), u-high, u-mid, u-low (under 95 %), u-none."""
    if uptime is None:
        return "u-none"
    full, high, mid = _UPTIME_BOUNDS[1:]
    if uptime >= full:
        return "u-full"
    if uptime >= high:
        return "u-high"
    if uptime >= mid:
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
            "errorKind": probe.error.value if probe.error is not None else None, "detail": probe.detail,
            "certificateNotAfter": iso_utc(probe.certificate_expiry) if probe.certificate_expiry is not None else None}


def why_down(status: SiteStatus) -> str:
    """Why the site's last probe was down, in words (a failed condition, the TLS verifier's reason, `status 503`);
    "" when it was up or nothing says why."""
    latest = status.latest
    return "" if latest is None else down_reason(latest) or ""


def certificate_text(status: SiteStatus, now: float | None) -> str:
    """`certificate expires in 6d23h (2026-12-07 10:00 UTC)` while a warning of the certificate served is open;
    without `now`, only the date (a live update)."""
    warning = status.certificate
    if warning is None:
        return ""
    if now is None:
        return f"certificate expires {clock_time(warning.start)}"
    return f"certificate {expiry_text(warning.start, now)} ({clock_time(warning.start)})"


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
        "name": status.name,
        "reason": why_down(status) or None,
        "certificate": None if status.certificate is None else {
            "notAfter": iso_utc(status.certificate.start), "warnedAt": iso_utc(status.certificate.timestamp),
            "text": certificate_text(status, now)},
    }


def live_json(status: SiteStatus) -> dict[str, Any]:
    """What a live update says of a site: what its row shows that can change, and nothing that changes by
    itself with time."""
    return {"id": status.id, "state": status.state.value, "label": status.label, "shape": status.shape,
            "rank": status.rank, "sinceText": since_text(status, None), "reason": why_down(status),
            "certificateText": certificate_text(status, None),
            "uptimeText": {label: percent(value) for label, value in status.uptime}}


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


BAR_WIDTH = 5
SPARK_SIZE = (160, 28)


class Drawings:
    """Each site's 90-day strip and 24-hour sparkline as SVG markup, drawn again only when stale: past days
    change when a site's history version does (a late probe, an outage, the site added again by a reload), the
    sparkline every 15 minutes or with that version; only today's bar is drawn for every page."""

    def __init__(self, board: StatusBoard) -> None:
        self.board = board
        self._strips: dict[str, tuple[tuple[float, int], Markup]] = {}
        self._sparks: dict[str, tuple[tuple[float, int], Markup]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many sites have a drawing kept."""
        with self._lock:
            return len(self._strips.keys() | self._sparks.keys())

    def forget(self, ids: Iterable[str]) -> None:
        """Drop the drawings of sites no longer shown (removed or renamed by a reload): kept, each site's id that
        ever left the board held its strip (about 10 kB) for as long as `-w` ran."""
        with self._lock:
            for key in ids:
                self._strips.pop(key, None)
                self._sparks.pop(key, None)

    def _keep(self, drawn: dict[str, tuple[tuple[float, int], Markup]], key: str,
              drawing: tuple[tuple[float, int], Markup]) -> None:
        """Keep a drawing of a site still shown: one a page drew while a reload removed its site is not kept
        after `forget` (both hold the lock; the board drops a site before `forget` is called for it)."""
        with self._lock:
            if self.board.site_by_id(key) is not None:
                drawn[key] = drawing

    def strip(self, status: SiteStatus, now: float) -> Markup:
        key = (now - now % DAY, status.history)
        with self._lock:
            cached = self._strips.get(status.id)
        if cached is None or cached[0] != key:
            days = self.board.days(status.id, now)
            past = Markup("").join(_bar(day, n, now) for n, day in enumerate(days[:-1]))
            cached = (key, past)
            self._keep(self._strips, status.id, cached)
        today = self.board.days(status.id, now, count=1)
        return cached[1] + (_bar(today[0], HISTORY_DAYS - 1, now) if today else Markup(""))

    def spark(self, status: SiteStatus, now: float) -> Markup:
        key = (now - now % SPARK_STEP, status.history)
        with self._lock:
            cached = self._sparks.get(status.id)
        if cached is None or cached[0] != key:
            width, height = SPARK_SIZE
            lines = polylines(self.board.spark(status.id, now), width, height)
            markup = Markup("").join(Markup('<polyline class="sparkline" points="{}"/>').format(points)
                                     for points in lines)
            cached = (key, markup)
            self._keep(self._sparks, status.id, cached)
        return cached[1]


def _bar(day: DayFigures, index: int, now: float) -> Markup:
    return Markup('<rect class="bar {}" x="{}" width="4" height="24" tabindex="0"><title>{}</title></rect>').format(
        uptime_class(day.uptime), index * BAR_WIDTH, escape(day_title(day, now)))

"""The flask application: the status page, a site's page, the JSON API, live events and /metrics.

Read-only: the board answers what is now and recent; a site's page and the API's ranges read the log's
rollups and probes. Every response carries a strict Content-Security-Policy (nothing inline, nothing from
elsewhere: every asset ships in this package); templates escape everything they show.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as WerkzeugResponse

from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.domain.timefmt import (
    format_duration,
    impossible_date,
    iso_utc,
    parse_age_or_date,
    parse_duration,
    unit_missing,
)
from monitoringapp.operators.rollup import DAY, HOUR, MINUTE, RELATIVE_ERROR, Rollup
from monitoringapp.store.log import HistoryReader, LogUnavailable, StoreError
from monitoringapp.web import render
from monitoringapp.web.auth import Users
from monitoringapp.web.board import SiteListChange, SiteSpec, StatusBoard
from monitoringapp.web.events import Broadcaster
from monitoringapp.web.metrics import CONTENT_TYPE, exposition, metrics_registry

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# A site page's ranges: (label, span, bucket size). 15-minute buckets come from the minute rollups.
RANGES = {"24h": (DAY, 900.0), "7d": (7 * DAY, 2 * HOUR), "30d": (30 * DAY, 6 * HOUR), "90d": (90 * DAY, DAY)}
MAX_BUCKETS = 5000
MAX_LIMIT = 10_000
PAGES = frozenset({"status_page", "site_page"})  # the endpoints a browser shows: an error is a page too
LATEST_TIME = 4_102_444_800.0  # 2100-01-01: later dates are a mistake, not a range


class ApiError(Exception):
    """A bad request to the API: 400 (or `status`) with a JSON error naming the parameter."""

    def __init__(self, message: str, parameter: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.status = status


@dataclass
class WebContext:
    """What the application reads: the board, the log, the live events; `clock()` is the time now."""

    board: StatusBoard
    log: HistoryReader
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    clock: Callable[[], float] = time.time
    users: Users | None = None
    waiting: str | None = None  # why the log cannot be read yet, while it cannot
    published: dict[str, dict[str, Any]] = field(default_factory=dict)  # the last live summary of each site
    drawings: render.Drawings = field(init=False)  # each site's strip and sparkline, kept between pages

    def __post_init__(self) -> None:
        self.drawings = render.Drawings(self.board)


class _DocumentedOrder(DefaultJSONProvider):
    """The API's keys in the order openapi.yaml lists them (Flask sorts them by default, and since 2.3 no
    longer reads `JSON_SORT_KEYS`)."""

    sort_keys = False


def create_app(context: WebContext) -> Flask:
    app = Flask(__name__)
    # No redirects: werkzeug answered a doubled slash (/site//x) with a 308 to the URL made absolute from the
    # request's Host header, a redirect anywhere at the word of the client (and for a cache to keep). A 404 instead.
    app.url_map.merge_slashes = False
    app.json = _DocumentedOrder(app)
    registry = metrics_registry(context.board, context.clock)
    board = context.board
    drawings = context.drawings

    versions: dict[str, str] = {}

    @app.url_defaults
    def versioned_static(endpoint: str, values: dict[str, Any]) -> None:
        # A static file's URL names its content: a browser keeps one an hour, and after an upgrade it ran the
        # last version's script and style with the new page.
        if endpoint == "static" and "filename" in values:
            filename = values["filename"]
            if filename not in versions:
                content = Path(app.static_folder or "", filename).read_bytes()
                versions[filename] = hashlib.sha256(content).hexdigest()[:12]
            values.setdefault("v", versions[filename])

    @app.before_request
    def authenticate() -> Response | None:
        request.environ["monitoringapp.started"] = time.perf_counter()
        if context.users is None:
            return None
        user, password = _basic_credentials(request.headers.get("Authorization", ""))
        if user is not None and password is not None and context.users.check(user, password):
            return None
        return Response("authentication required\n", 401, {"WWW-Authenticate": 'Basic realm="monitoringApp"',
                                                           "Content-Type": "text/plain; charset=utf-8"})

    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        if request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=3600"
        else:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[dict[str, Any], int]:
        body: dict[str, Any] = {"error": str(error)}
        if error.parameter is not None:
            body["parameter"] = error.parameter
        return body, error.status

    @app.errorhandler(LogUnavailable)
    def unavailable(error: LogUnavailable) -> tuple[dict[str, Any] | str, int, dict[str, str]]:
        return _not_served(str(error) or "the database is busy; try again", 2)

    @app.errorhandler(StoreError)
    def unusable(error: StoreError) -> tuple[dict[str, Any] | str, int, dict[str, str]]:
        return _not_served(str(error), 10)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> WerkzeugResponse:
        response = error.get_response()  # keeps its headers, such as a 405's Allow
        if request.path.startswith("/api/"):
            response.set_data(json.dumps({"error": error.description or error.name}))
            response.content_type = "application/json"
        return response

    # -- pages --------------------------------------------------------------------------------------------

    @app.get("/")
    def status_page() -> str:
        now = context.clock()
        return render_template("index.html", statuses=board.statuses(now), now=now, r=render,
                               drawings=drawings, waiting=context.waiting)

    @app.get("/site/<key>")
    def site_page(key: str) -> str:
        now = context.clock()
        status = board.status(key, now)
        if status is None:
            abort(404)
        chosen = request.args.get("range", "24h")
        if chosen not in RANGES:
            chosen = "24h"
        span, step = RANGES[chosen]
        since = now - span
        buckets = _buckets(context.log, status.host, since, now, step)
        total = Rollup(status.host, since, span)
        for bucket in buckets:
            total.merge(bucket)
        told = context.log.transitions_since(since, {status.host}).events
        alerts = _outages(told, now)
        warnings = [t for t in told if t.kind is TransitionKind.CERTIFICATE][::-1]
        open_alert = board.open_alert(key)
        if open_alert is not None and all(a["start"] != open_alert.start for a in alerts):
            alerts.insert(0, _outage(open_alert, now))
        chart = _chart(buckets, since, step, now)
        return render_template("site.html", status=status, now=now, r=render, ranges=list(RANGES), chosen=chosen,
                               chart=chart, total=total, alerts=alerts, step=step, warnings=warnings,
                               relative_error=RELATIVE_ERROR)

    @app.get("/events")
    def events() -> Response:
        stream = context.broadcaster.open()
        if stream is None:
            return Response("too many live pages open; retrying\n", 503,
                            {"Retry-After": "5", "Content-Type": "text/plain; charset=utf-8"})
        # This page shows what it was drawn with, not what earlier pages were sent: every site's next summary
        # goes out again, so none that equals an earlier one is kept from it.
        context.published.clear()
        return Response(stream, mimetype="text/event-stream",
                        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"})

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(exposition(registry), headers={"Content-Type": CONTENT_TYPE})

    # -- the API ------------------------------------------------------------------------------------------

    @app.get("/api/v1/openapi.yaml")
    def openapi() -> Response:
        text = resources.files("monitoringapp.web").joinpath("openapi.yaml").read_text(encoding="utf-8")
        return Response(text, mimetype="application/yaml")

    @app.get("/api/v1/sites")
    def api_sites() -> dict[str, Any]:
        now = context.clock()
        return {"generatedAt": iso_utc(now), "sites": [render.site_json(s, now) for s in board.statuses(now)]}

    @app.get("/api/v1/sites/<key>")
    def api_site(key: str) -> dict[str, Any]:
        now = context.clock()
        status = board.status(key, now)
        if status is None:
            raise ApiError(f"no site with id {key!r}", "id", 404)
        return {"generatedAt": iso_utc(now), "site": render.site_json(status, now)}

    @app.get("/api/v1/sites/<key>/probes")
    def api_probes(key: str) -> dict[str, Any]:
        now = context.clock()
        spec = _site(board, key)
        since, until = _range(now, default_span=HOUR)
        limit = _integer("limit", 1000, 1, MAX_LIMIT)
        probes = context.log.probes_between(spec.host, since, until, limit + 1)
        return {"site": key, "since": iso_utc(since), "until": iso_utc(until), "truncated": len(probes) > limit,
                "probes": [render.probe_json(p) for p in probes[:limit]]}

    @app.get("/api/v1/sites/<key>/rollups")
    def api_rollups(key: str) -> dict[str, Any]:
        now = context.clock()
        spec = _site(board, key)
        since, until = _range(now, default_span=DAY)
        step = _step(since, until)
        return {"site": key, "since": iso_utc(since), "until": iso_utc(until), "step": step,
                "approximate": render.APPROXIMATE,
                "buckets": [render.rollup_json(b) for b in _buckets(context.log, spec.host, since, until, step)]}

    @app.get("/api/v1/alerts")
    def api_alerts() -> dict[str, Any]:
        now = context.clock()
        since = _time("since", now, now - 7 * DAY)
        hosts = None
        key = _argument("site")
        if key is not None:
            hosts = {_site(board, key, "site").host}
        limit = _integer("limit", 1000, 1, MAX_LIMIT)
        transitions = context.log.transitions_since(since, hosts).events
        shown = board.shown_sites()
        kept = [t for t in transitions if t.host in shown]
        return {"since": iso_utc(since), "truncated": len(kept) > limit,
                "alerts": [_alert_json(t, shown) for t in kept[:limit]]}

    @app.after_request
    def server_timing(response: Response) -> Response:
        # The time in the application, for a reverse proxy's logs and the bench (a stream's is its start).
        started = request.environ.get("monitoringapp.started")
        if started is not None:
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response

    @app.after_request
    def compressed(response: Response) -> Response:
        # Registered last, run first: the time it takes is in Server-Timing.
        return gzipped(response, request.accept_encodings.quality("gzip") > 0)

    return app


# What the application answers with: its pages, the API, /metrics (text/plain) and openapi.yaml. A static file
# goes as the file it is (`direct_passthrough`), not through here.
COMPRESSED_TYPES = frozenset({"text/html", "application/json", "text/plain", "application/yaml"})
COMPRESS_FROM = 1024  # bytes; below it gzip's header and the client's work cost more than they save
GZIP_LEVEL = 6  # the page of 100 sites: 1.4 MB to about 110 kB (13x), 7 ms of CPU per MB


def gzipped(response: Response, accepted: bool) -> Response:
    """`response` gzip-compressed when the client accepts it and it is worth it: the status page repeats its
    bars' markup for every site (1.4 MB with 100 sites, 14 MB with 1,000). A stream (the live events, which must
    reach the browser as they come) and a file sent as is are left alone."""
    if (not accepted or response.direct_passthrough or response.is_streamed or response.status_code in (204, 304)
            or "Content-Encoding" in response.headers or response.mimetype not in COMPRESSED_TYPES):
        return response
    body = response.get_data()
    if len(body) < COMPRESS_FROM:
        return response
    response.set_data(gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response


# -- helpers ------------------------------------------------------------------------------------------------


def publish_changes(context: WebContext, touched: frozenset[str]) -> None:
    """Tell the open pages what changed for the sites `touched`: one `sites` event with the summaries that
    differ from the last ones sent (a state, an uptime figure) and the page's heading, none when nothing
    visible changed."""
    if not touched or not context.broadcaster.streams:
        return
    now = context.clock()
    changed = []
    for key in sorted(touched):
        status = context.board.status(key, now)
        if status is None:
            continue
        summary = render.live_json(status)
        if context.published.get(key) != summary:
            context.published[key] = summary
            changed.append(summary)
    if changed:
        headline = render.headline(context.board.states(now))
        context.broadcaster.publish("sites", json.dumps({"at": iso_utc(now), "headline": headline, "sites": changed}))


def publish_list_change(context: WebContext, change: SiteListChange) -> None:
    """Tell the open pages that the list of sites changed (a reloaded config): a `reload` event when the rows they
    drew are no longer the rows they would draw (a site added or removed, renamed, moved), which a live update,
    made to change rows in place, cannot redraw; the page loads itself again. The removed sites' last summaries
    and drawings are forgotten: one added back is sent again (and drawn again)."""
    for key in change.removed:
        context.published.pop(key, None)
    context.drawings.forget(change.removed)
    if change.relisted and context.broadcaster.streams:
        context.broadcaster.publish("reload", json.dumps({"at": iso_utc(context.clock())}))
        # Each page loads again and opens a new stream: the old ones end now, not at their next keepalive (15 s),
        # so their places are free for the new ones (8 in all: with 5 pages open, some were refused).
        context.broadcaster.close()


def _not_served(reason: str, retry_after: int) -> tuple[dict[str, Any] | str, int, dict[str, str]]:
    """A 503 for a log that cannot be read: JSON for the API, for a page an HTML one that says why and reloads
    itself (a browser ignores Retry-After), so it shows as soon as the database can be read."""
    headers = {"Retry-After": str(retry_after)}
    if request.endpoint not in PAGES:
        return {"error": reason}, 503, headers
    return render_template("unavailable.html", reason=reason, retry_after=retry_after), 503, headers


def _basic_credentials(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else (None, None)


def _site(board: StatusBoard, key: str, parameter: str = "id") -> SiteSpec:
    spec = board.site_by_id(key)
    if spec is None:
        raise ApiError(f"no site with id {key!r}", parameter, 404)
    return spec


def _argument(name: str) -> str | None:
    """The query's one value of `name`, None if absent; given more than once (`since=a&since=b`), an error, where
    the first silently won."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise ApiError(f"{name}: given {len(values)} times; give it once", name)
    return values[0] if values else None


def _time(name: str, now: float, default: float) -> float:
    text = _argument(name)
    if text is None:
        return default
    missing = unit_missing(text)  # as on the command line: `?since=30` meant as days is not half a minute
    if missing is not None:
        raise ApiError(f"{name}: {missing}", name)
    try:
        value = parse_age_or_date(text, now)
    except (ValueError, OverflowError):
        impossible = impossible_date(text)
        if impossible is not None:
            raise ApiError(f"{name}: {text!r} is no such date: {impossible}", name) from None
        raise ApiError(f"{name}: must be an age such as 2h or an ISO date such as 2026-11-24T12:00, got {text!r}",
                       name) from None
    if not math.isfinite(value) or not 0 <= value <= LATEST_TIME:
        raise ApiError(f"{name}: must be between 1970 and 2100, got {text!r}", name)
    return value


def _range(now: float, default_span: float) -> tuple[float, float]:
    until = _time("until", now, now)
    since = _time("since", now, until - default_span)
    if since >= until:
        raise ApiError("since: must be before until", "since")
    return since, until


def _integer(name: str, default: int, lowest: int, highest: int) -> int:
    text = _argument(name)
    if text is None:
        return default
    # ASCII digits only: str.isdigit() also says yes to "²", which int() refuses.
    if not (text.isascii() and text.isdigit()) or not lowest <= int(text) <= highest:
        raise ApiError(f"{name}: must be a whole number from {lowest} to {highest}, got {text!r}", name)
    return int(text)


def _step(since: float, until: float) -> float:
    text = _argument("step")
    if text is None:
        span = until - since
        step = next((s for s in (MINUTE, 15 * MINUTE, HOUR, 6 * HOUR, DAY) if span / s <= 200), 7 * DAY)
        return step if span / step <= MAX_BUCKETS else DAY * math.ceil(span / DAY / MAX_BUCKETS)
    try:
        step = parse_duration(text)
    except ValueError:
        raise ApiError(f"step: must be a duration in whole minutes such as 1m, 1h or 1d, got {text!r}",
                       "step") from None
    if step < MINUTE or step % MINUTE or step > 366 * DAY:
        raise ApiError(f"step: must be whole minutes, from 1m to 366d, got {text!r}", "step")
    if (until - since) / step > MAX_BUCKETS:
        raise ApiError(f"step: {text!r} makes more than {MAX_BUCKETS} buckets over this range", "step")
    return step


def _buckets(log: HistoryReader, host: str, since: float, until: float, step: float) -> list[Rollup]:
    """One site's rollups in [since, until) per `step`, with sketches and outcomes; minute rows for steps
    under an hour (they reach 14 days back), hour rows else."""
    return list(log.rollups(since - since % MINUTE, until, step, {host}, detail=True).events)


def _chart(buckets: list[Rollup], since: float, step: float, now: float) -> dict[str, Any]:
    """The site page's chart: p50, p90, p99 lines and the availability strip, on a fixed time axis."""
    first = since - since % step
    count = int((now - first) // step) + 1
    by_start = {b.start: b for b in buckets}
    slots = [by_start.get(first + n * step) for n in range(count)]
    values = {name: [b.sketch.percentile(f) if b is not None else None for b in slots]
              for name, f in render.PERCENTILES}
    top = max((v for v in values["p99"] if v is not None), default=0.0)
    width, height = 800.0, 200.0
    lines = {name: render.polylines(series, width, height, top) for name, series in values.items()}
    bar = width / max(1, count)
    strip = [(n * bar, max(bar - 1, 1.0), b) for n, b in enumerate(slots)]
    return {"width": width, "height": height, "top": top, "lines": lines, "strip": strip, "first": first,
            "count": count}


def _outage(transition: AlertTransition, now: float) -> dict[str, Any]:
    end = transition.end if transition.kind is TransitionKind.RECOVERY else None
    return {"start": transition.start, "end": end,
            "duration": format_duration((end if end is not None else now) - transition.start),
            "availability": transition.availability, "reason": transition.detail}


def _outages(transitions: Iterable[AlertTransition], now: float) -> list[dict[str, Any]]:
    """Every alert of the range with its duration, newest first (a recovery closes its alert's row)."""
    rows: dict[float, dict[str, Any]] = {}
    for transition in transitions:
        if transition.kind in (TransitionKind.ALERT, TransitionKind.RECOVERY):
            reason = rows.get(transition.start, {}).get("reason")  # the alert's; its recovery has none
            rows[transition.start] = _outage(transition, now)
            rows[transition.start]["reason"] = rows[transition.start]["reason"] or reason
    return [rows[start] for start in sorted(rows, reverse=True)]


def _alert_json(transition: AlertTransition, shown: dict[str, SiteSpec]) -> dict[str, Any]:
    site = shown[transition.host]  # its URL: a named site's host is its name
    return {
        "id": transition.id,
        "site": site.id,
        "url": site.shown_url,
        "kind": transition.kind.value,
        "timestamp": iso_utc(transition.timestamp),
        "start": iso_utc(transition.start),
        "end": iso_utc(transition.end) if transition.end is not None else None,
        "durationSeconds": (round(transition.end - transition.start, 3)
                            if transition.end is not None and transition.kind is TransitionKind.RECOVERY else None),
        "availability": transition.availability,
        "detail": transition.detail,
    }


"""The status board: every site's state now and its recent history, kept in memory from the log (no reactivex).

Seeded once from the rollups (daily uptime for 90 days, 15-minute response times for 24 hours), the last
hour of probes (and each site's last failure and failing run from before it) and 90 days of alerts; then
every probe and transition the reader follows is added as it is stored. A reloaded config's list replaces the
sites shown (`reshape`): the sites it adds are seeded from the log the same way. The page, the API's site list, the
live events and /metrics all read it, so a page view costs no database read. Thread-safe: the follower adds
on its thread while requests read on theirs.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from monitoringapp.domain.events import AlertTransition, LastOutcomes, Probe, TransitionKind
from monitoringapp.domain.sites import shown_url, site_id
from monitoringapp.operators.rollup import DAY, Rollup, bucket_start
from monitoringapp.operators.window import SlidingWindow

HISTORY_DAYS = 90
SPARK_STEP = 900.0  # one sparkline point per 15 minutes
SPARK_SPAN = 86400.0
UPTIME_SPANS = (("24h", 1), ("7d", 7), ("30d", 30), ("90d", 90))
AVAILABILITY_WINDOWS = (("2m", 120.0), ("10m", 600.0), ("1h", 3600.0))
# Prometheus histogram buckets of response time, seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
NO_DATA_AFTER = 60.0  # at least; or three check intervals: the config's, else the spacing of the site's probes
SPACINGS_KEPT = 3  # a site's last gaps between probes; their least is its interval, one long gap (a stop) aside


_NONE = [0, 0]


class State(StrEnum):
    ALERTING = "alerting"
    DOWN = "down"
    NO_DATA = "nodata"
    UP = "up"


STATE_RANK = {State.ALERTING: 0, State.DOWN: 1, State.NO_DATA: 2, State.UP: 3}
STATE_SHAPE = {State.ALERTING: "▲", State.DOWN: "▼", State.NO_DATA: "○", State.UP: "●"}
STATE_TEXT = {State.ALERTING: "Alerting", State.DOWN: "Down", State.NO_DATA: "No data", State.UP: "Up"}


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """A site the board shows: its log host (its key: the config's `name`, else its URL), check interval (None:
    unknown), name and URL (a named site's; the host is the URL of one without a name)."""

    host: str
    interval: float | None = None
    name: str | None = None
    url: str | None = None

    @property
    def shown_url(self) -> str:
        return shown_url(self.url or self.host)

    @property
    def id(self) -> str:
        return site_id(self.host, self.name)


@dataclass(slots=True)
class _Site:
    spec: SiteSpec
    order: int
    days: dict[float, list[int]] = field(default_factory=dict)  # day start -> [checks, available]
    spark: dict[float, list[float]] = field(default_factory=dict)  # 15 min -> [checks, available, rt n, rt sum]
    # Fed only a location's own steps back (`_stepped_back`), never another location's late probes: it moves back.
    window: SlidingWindow = field(default_factory=lambda: SlidingWindow(tuple(s for _, s in AVAILABILITY_WINDOWS),
                                                                         follows_clock_steps=True))
    latest: Probe | None = None
    spacings: deque[float] = field(default_factory=lambda: deque(maxlen=SPACINGS_KEPT))  # seconds between probes
    probed_before: float | None = None  # the last probe before the seeded hour (its time only), if any
    history: int = 0  # a new board-wide version when a past day's figures or an outage change: a drawn strip is stale
    alert: AlertTransition | None = None  # the latest alert or recovery
    certificate: AlertTransition | None = None  # the latest certificate warning
    outages: dict[float, float | None] = field(default_factory=dict)  # start -> end (None: ongoing)
    results: dict[tuple[str, str], int] = field(default_factory=dict)  # (result, error kind) -> probes seen
    buckets: list[int] = field(default_factory=lambda: [0] * (len(DURATION_BUCKETS) + 1))
    duration_sum: float = 0.0


@dataclass(frozen=True, slots=True)
class DayFigures:
    start: float
    checks: int
    available: int
    outages: tuple[tuple[float, float | None], ...]

    @property
    def uptime(self) -> float | None:
        return self.available / self.checks if self.checks else None


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """One site as the page and the API show it, at `now`."""

    id: str
    url: str  # shown: no password
    host: str
    state: State
    since: float | None  # alerting since, down since, or last probe (no data)
    latest: Probe | None
    uptime: tuple[tuple[str, float | None], ...]  # ("24h", 0.9993), ...
    order: int
    history: int  # the version of its past days (see `StatusBoard.days`)
    name: str | None = None
    certificate: AlertTransition | None = None  # the latest warning of the certificate it serves now

    @property
    def title(self) -> str:
        """What names the site on the page: its name, else its URL."""
        return self.name or self.url

    @property
    def rank(self) -> int:
        return STATE_RANK[self.state]

    @property
    def shape(self) -> str:
        return STATE_SHAPE[self.state]

    @property
    def label(self) -> str:
        return STATE_TEXT[self.state]


@dataclass(frozen=True, slots=True)
class SiteMetrics:
    """What /metrics says of one site."""

    id: str
    url: str
    latest: Probe | None
    availability: tuple[tuple[str, float | None], ...]
    alerting: bool
    results: tuple[tuple[tuple[str, str], int], ...]
    buckets: tuple[int, ...]  # per DURATION_BUCKETS bound, then +Inf; not cumulative
    duration_sum: float


@dataclass(frozen=True, slots=True)
class SiteListChange:
    """What `StatusBoard.reshape` changed: the log hosts of the sites added (whose past is still to be seeded),
    the ids of those removed, and whether the rows a page drew are no longer the rows it would draw (a site
    added or removed, or one whose name, URL or place in the list changed): a live update cannot redraw them."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    relisted: bool = False


class StatusBoard:
    """Sites' states and histories; `sites` fixes the list (a config), else every site the log shows."""

    def __init__(self, sites: Sequence[SiteSpec] | None = None) -> None:
        self._fixed = sites is not None
        self._sites: dict[str, _Site] = {}
        self._by_id: dict[str, _Site] = {}
        # Every history version is new on the whole board, so a site removed and added back never shows a strip
        # drawn of its former self (drawings are cached by site id and version).
        self._versions = itertools.count(1)
        for spec in sites or ():
            self._site(spec.host, spec)
        self._lock = threading.Lock()
        self.seeded = False

    # -- filling it -------------------------------------------------------------------------------------

    def _site(self, host: str, spec: SiteSpec | None = None) -> _Site | None:
        site = self._sites.get(host)
        if site is None:
            if self._fixed and spec is None:
                return None
            site = _Site(spec or _unconfigured(host), len(self._sites), history=next(self._versions))
            self._sites[host] = site
            self._by_id[site.spec.id] = site
        return site

    def seed(self, days: Iterable[Rollup], spark: Iterable[Rollup], recent: Iterable[Probe],
             transitions: Iterable[AlertTransition], before: Iterable[LastOutcomes] = ()) -> None:
        """Start from the stored past: daily and 15-minute rollups, the last hour's probes and each site's last
        failure and failing run from before them, 90 days of alerts."""
        with self._lock:
            for outcomes in before:
                if (site := self._site(outcomes.host)) is not None:
                    site.window.start_after(outcomes)
                    site.probed_before = max((t for t in (outcomes.last_success, outcomes.last_failure)
                                              if t is not None), default=None)
            for rollup in days:
                if (site := self._site(rollup.host)) is not None:
                    site.days[rollup.start] = [rollup.checks, rollup.available]
            for rollup in spark:
                if (site := self._site(rollup.host)) is not None:
                    site.spark[rollup.start] = [rollup.checks, rollup.available, rollup.rt_count, rollup.rt_sum]
            for probe in recent:
                if (site := self._site(probe.host)) is not None:
                    _follow(site, probe)
            self._add_transitions(transitions)
            self.seeded = True

    def reshape(self, sites: Sequence[SiteSpec]) -> SiteListChange:
        """Show `sites` from now on, in their order (a reloaded config's list): a site kept (same log host) keeps
        its past and takes its new interval, name and URL; a removed one is forgotten; an added one starts with
        no past (give it its own with `seed`, read for its hosts). Only a board whose list a config fixes."""
        assert self._fixed, "a board of every site the log shows has no list to replace"
        with self._lock:
            before = [(site.spec.id, site.spec.name, site.spec.shown_url) for site in self._sites.values()]
            kept = {spec.host: self._sites[spec.host] for spec in sites if spec.host in self._sites}
            removed = tuple(site.spec.id for host, site in self._sites.items() if host not in kept)
            added: list[str] = []
            self._sites, self._by_id = {}, {}
            for order, spec in enumerate(sites):
                site = kept.get(spec.host)
                if site is None:
                    added.append(spec.host)
                    site = _Site(spec, order, history=next(self._versions))
                else:
                    site.spec, site.order = spec, order
                self._sites[spec.host] = site
                self._by_id[spec.id] = site
            after = [(site.spec.id, site.spec.name, site.spec.shown_url) for site in self._sites.values()]
        return SiteListChange(tuple(added), removed, relisted=after != before)

    def add_probes(self, probes: Iterable[Probe]) -> set[str]:
        """Count probes stored after the seed; the ids of the sites they touched."""
        touched: set[str] = set()
        with self._lock:
            for probe in probes:
                site = self._site(probe.host)
                if site is None:
                    continue
                touched.add(site.spec.id)
                day_start = bucket_start(probe.timestamp, DAY)
                if site.days and day_start < max(site.days):
                    site.history = next(self._versions)  # a late probe of a past day
                day = site.days.setdefault(day_start, [0, 0])
                day[0] += 1
                day[1] += probe.available
                point = site.spark.setdefault(bucket_start(probe.timestamp, SPARK_STEP), [0, 0, 0, 0.0])
                point[0] += 1
                point[1] += probe.available
                if probe.response_time_ms is not None:
                    point[2] += 1
                    point[3] += probe.response_time_ms
                self._count(site, probe)
                # The seed's last hour and the first probes followed overlap: a site's probes come in time order,
                # but after a step back of the wall clock.
                if site.latest is None or probe.timestamp > site.latest.timestamp or _stepped_back(site, probe):
                    _follow(site, probe)
        return touched

    def add_transitions(self, transitions: Iterable[AlertTransition]) -> set[str]:
        with self._lock:
            return self._add_transitions(transitions)

    def _add_transitions(self, transitions: Iterable[AlertTransition]) -> set[str]:
        touched: set[str] = set()
        for transition in transitions:
            if transition.kind is TransitionKind.CERTIFICATE:
                if (site := self._site(transition.host)) is not None:
                    touched.add(site.spec.id)
                    if site.certificate is None or transition.timestamp >= site.certificate.timestamp:
                        site.certificate = transition
                continue
            if transition.kind not in (TransitionKind.ALERT, TransitionKind.RECOVERY):
                continue
            site = self._site(transition.host)
            if site is None:
                continue
            touched.add(site.spec.id)
            site.history = next(self._versions)
            site.outages[transition.start] = transition.end if transition.kind is TransitionKind.RECOVERY else (
                site.outages.get(transition.start))
            # The latest in the log's order: a site's alerts and recoveries are decided, and stored, in turn (by
            # time they are too, but for a wall clock stepped back: a new alert stamped before the last recovery).
            site.alert = transition
        return touched

    @staticmethod
    def _count(site: _Site, probe: Probe) -> None:
        result = "success" if probe.available else "failure"
        key = (result, probe.error.value if probe.error is not None else "")
        site.results[key] = site.results.get(key, 0) + 1
        if probe.response_time_ms is not None:
            seconds = probe.response_time_ms / 1000
            index = next((i for i, bound in enumerate(DURATION_BUCKETS) if seconds <= bound), len(DURATION_BUCKETS))
            site.buckets[index] += 1
            site.duration_sum += seconds

    def forget_before(self, now: float) -> None:
        """Drop days and sparkline points that no view reaches any more."""
        with self._lock:
            oldest_day = bucket_start(now, DAY) - HISTORY_DAYS * DAY
            oldest_point = now - SPARK_SPAN - SPARK_STEP
            for site in self._sites.values():
                for start in [s for s in site.days if s < oldest_day]:
                    del site.days[start]
                for start in [s for s in site.spark if s < oldest_point]:
                    del site.spark[start]
                for start in [s for s, end in site.outages.items() if end is not None and end < oldest_day]:
                    del site.outages[start]

    # -- reading it -------------------------------------------------------------------------------------

    def site_by_id(self, key: str) -> SiteSpec | None:
        with self._lock:
            site = self._by_id.get(key)
            return site.spec if site is not None else None

    def shown_sites(self) -> dict[str, SiteSpec]:
        """{log host: site} of the sites shown."""
        with self._lock:
            return {host: site.spec for host, site in self._sites.items()}

    def open_alert(self, key: str) -> AlertTransition | None:
        """The site's alert while it is open, else None."""
        with self._lock:
            site = self._by_id.get(key)
            alert = site.alert if site is not None else None
        return alert if alert is not None and alert.kind is TransitionKind.ALERT else None

    def statuses(self, now: float) -> list[SiteStatus]:
        """Every site, those in trouble first (alerting, down, no data, up), then in config order."""
        with self._lock:
            found = [self._status(site, now) for site in self._sites.values()]
        return sorted(found, key=lambda status: (status.rank, status.order))

    def states(self, now: float) -> list[State]:
        """Every site's state now (what `statuses` says, without the uptimes that cost most of it)."""
        with self._lock:
            return [_state(site, now)[0] for site in self._sites.values()]

    def status(self, key: str, now: float) -> SiteStatus | None:
        with self._lock:
            site = self._by_id.get(key)
            return self._status(site, now) if site is not None else None

    def _status(self, site: _Site, now: float) -> SiteStatus:
        state, since = _state(site, now)
        today = bucket_start(now, DAY)
        uptime: list[tuple[str, float | None]] = []
        for label, span_days in UPTIME_SPANS:
            counted: list[list[int]] | list[list[float]]
            if span_days == 1:
                first = bucket_start(now, SPARK_STEP) - SPARK_SPAN + SPARK_STEP
                counted = [p for start, p in site.spark.items() if start >= first]
            else:
                first = today - (span_days - 1) * DAY
                counted = [d for start, d in site.days.items() if start >= first]
            checks = sum(int(c[0]) for c in counted)
            available = sum(int(c[1]) for c in counted)
            uptime.append((label, available / checks if checks else None))
        return SiteStatus(site.spec.id, site.spec.shown_url, site.spec.host, state, since, site.latest,
                          tuple(uptime), site.order, site.history, site.spec.name, _open_certificate(site, now))

    def days(self, key: str, now: float, count: int = HISTORY_DAYS) -> tuple[DayFigures, ...]:
        """The site's last `count` UTC days (90), oldest first, today last, each with its outages."""
        with self._lock:
            site = self._by_id.get(key)
            if site is None:
                return ()
            today = bucket_start(now, DAY)
            outages = sorted(site.outages.items())
            return tuple(DayFigures(start, counts[0], counts[1], _outages_in(outages, start, start + DAY, now))
                         for n in range(count - 1, -1, -1)
                         for start in (today - n * DAY,) for counts in (site.days.get(start, _NONE),))

    def spark(self, key: str, now: float) -> tuple[float | None, ...]:
        """Average response time (ms) per 15 minutes over the 24 hours before the current 15 minutes."""
        with self._lock:
            site = self._by_id.get(key)
            if site is None:
                return ()
            first = bucket_start(now, SPARK_STEP) - SPARK_SPAN
            points = [site.spark.get(first + n * SPARK_STEP) for n in range(int(SPARK_SPAN / SPARK_STEP))]
        return tuple(p[3] / p[2] if p is not None and p[2] else None for p in points)

    def metrics(self, now: float) -> list[SiteMetrics]:
        with self._lock:
            found = []
            for site in self._sites.values():
                site.window.advance(now)
                availability = []
                for label, span in AVAILABILITY_WINDOWS:
                    checks, available = site.window.counts(span)
                    availability.append((label, available / checks if checks else None))
                alerting = site.alert is not None and site.alert.kind is TransitionKind.ALERT
                found.append(SiteMetrics(site.spec.id, site.spec.shown_url, site.latest, tuple(availability),
                                         alerting, tuple(sorted(site.results.items())), tuple(site.buckets),
                                         site.duration_sum))
        return found


def _unconfigured(host: str) -> SiteSpec:
    """A site the log holds and no config gives: a key without `://` is a site's name (a name may not look like
    a URL), so its id is the one its config gives it; its URL is not in the log."""
    return SiteSpec(host, name=None if "://" in host else host)


def _follow(site: _Site, probe: Probe) -> None:
    """`probe`, the site's newest, is its latest: in its windows, and its spacing from the one before kept."""
    if site.latest is not None and probe.timestamp > site.latest.timestamp:
        site.spacings.append(probe.timestamp - site.latest.timestamp)
    site.window.add(probe)
    site.latest = probe


def _stepped_back(site: _Site, probe: Probe) -> bool:
    """Whether `probe`, stamped before the site's latest, is its location's wall clock stepped back: from the
    same location, and as the site's window takes a step back (the shortest availability window or more before its
    latest, as a monitor's own windows take it); a late probe of another location (its spool emptied, its clock
    behind) is not, and leaves the site's state as it is. Not followed, a step back of an hour left the site's
    state, and its windows, as they were for the hour."""
    latest = site.latest
    return latest is not None and probe.location == latest.location and site.window.steps_back(probe.timestamp)


def _state(site: _Site, now: float) -> tuple[State, float | None]:
    alert = site.alert
    if alert is not None and alert.kind is TransitionKind.ALERT:
        return State.ALERTING, alert.start
    latest = site.latest
    # Without a config (-w shows every site the log holds), the spacing of its probes: a site checked every 5
    # minutes is not "No data" for 4 of them.
    interval = site.spec.interval or min(site.spacings, default=0.0)
    stale_after = max(NO_DATA_AFTER, 3 * interval)
    # A last probe as far ahead of the clock: stored before the clock was stepped back, and none since (as
    # `--health` takes it); it was shown as fresh until the clock caught up.
    if latest is None or abs(now - latest.timestamp) > stale_after:
        # Its last probe, though older than the hour a start reads: "never probed" is only for a site never probed.
        return State.NO_DATA, latest.timestamp if latest is not None else site.probed_before
    if not latest.available:
        return State.DOWN, site.window.failing_since
    return State.UP, None


def _open_certificate(site: _Site, now: float) -> AlertTransition | None:
    """The site's latest certificate warning, while the certificate it warned of is still the one served (a
    renewed one ends it) and expired at most a day ago."""
    warning = site.certificate
    if warning is None or warning.start < now - DAY:
        return None
    served = site.latest.certificate_expiry if site.latest is not None else None
    return warning if served is None or served == warning.start else None


def _outages_in(outages: list[tuple[float, float | None]], start: float, end: float,
                now: float) -> tuple[tuple[float, float | None], ...]:
    return tuple((s, e) for s, e in outages if s < end and (e if e is not None else now) >= start)


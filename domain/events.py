"""The events monitoringApp is built on: probe results in, alert transitions and reports out.

Times are UTC seconds since the epoch (floats); the store turns them into ISO-8601 text. Every probe and
transition says where it was seen (`location`, `local` on a single machine), so the same events can come
from probers in several places.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from monitoringapp.domain.timefmt import iso_utc

LOCAL = "local"
"""The location of a monitor that runs on one machine."""


class ErrorKind(StrEnum):
    """Why a probe is down: it got no HTTP response (the first six), or its answer failed the site's checks
    (`status` outside `expectedStatus`, a body `condition`, or `slow`er than `maxResponseTime`)."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    DNS = "dns"
    TLS = "tls"
    REDIRECTS = "redirects"
    OTHER = "other"
    STATUS = "status"
    CONDITION = "condition"
    SLOW = "slow"


ERROR_KINDS: tuple[ErrorKind, ...] = tuple(ErrorKind)


@dataclass(frozen=True, slots=True)
class Probe:
    """One check of one site: what the tick scheduled at `timestamp` found."""

    timestamp: float
    host: str
    available: bool
    status: int | None
    response_time_ms: float | None
    error: ErrorKind | None = None
    location: str = LOCAL
    detail: str | None = None  # why the probe is down, in words (a failed condition, the TLS verifier's reason)
    certificate_expiry: float | None = None  # an https site's certificate's notAfter, as the probe saw it


class TransitionKind(StrEnum):
    """What a transition says. A site's alert state is its alerts and recoveries (what the alert machine and a
    restart read); the other kinds are told as they happen: a location that has gone silent (no probe in the
    alert window) and is back, with probers in several locations one location's own view of a site, and a
    certificate about to expire (`start` its notAfter, `end` when the warning fell due: notAfter less the
    warning's days)."""

    ALERT = "alert"
    RECOVERY = "recovery"
    SILENT = "silent"
    RESUMED = "resumed"
    LOCATION_ALERT = "location-alert"
    LOCATION_RECOVERY = "location-recovery"
    CERTIFICATE = "certificate"


ALERT_KINDS = frozenset({TransitionKind.ALERT, TransitionKind.RECOVERY})
LOCATION_KINDS = frozenset({TransitionKind.LOCATION_ALERT, TransitionKind.LOCATION_RECOVERY})
QUORUM = "quorum"
"""The location of a site's own transitions when an evaluator judges it from several locations."""


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """A site going down (`ALERT`, `end` is None) or coming back (`RECOVERY`).

    `start` is when the alert was raised; a recovery carries it so that the
    outage reads as one interval [start, end]. `availability` is None for a
    kind where it has no meaning.
    """

    timestamp: float
    host: str
    kind: TransitionKind
    availability: float | None
    start: float
    end: float | None = None
    location: str = LOCAL
    detail: str | None = None

    @property
    def id(self) -> str:
        """The same in every backend and after any replay: derived from what the transition is, not where
        it is stored."""
        if self.kind is TransitionKind.CERTIFICATE and self.end is not None:
            # One warning per certificate and threshold: the threshold is in its id.
            return transition_id(self.host, self.location, f"{self.kind.value}@{iso_utc(self.end)}", self.start)
        return transition_id(self.host, self.location, self.kind, self.start)


def transition_id(site: str, location: str, kind: str, start: float) -> str:
    """32 hex digits naming the transition of `kind` of `site` at `location` that started at `start`
    (at the store's millisecond resolution, so a replayed start gives the same id)."""
    key = "\n".join((site, location, kind, iso_utc(start)))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class WindowStats:
    """What one site's probes in the window (`now - span`, `now`] add up to.

    Response-time fields are None when no response was received in the window;
    `current_downtime` is None while the site is up, `since_last_failure` None
    when no failure is known.
    """

    host: str
    span: float
    now: float
    checks: int
    available: int
    rt_min: float | None
    rt_avg: float | None
    rt_p50: float | None
    rt_p90: float | None
    rt_p99: float | None
    rt_max: float | None
    status_counts: tuple[tuple[int, int], ...]
    error_counts: tuple[tuple[ErrorKind, int], ...]
    current_downtime: float | None
    since_last_failure: float | None

    @property
    def availability(self) -> float | None:
        return self.available / self.checks if self.checks else None


@dataclass(frozen=True, slots=True)
class Report:
    """The stats of every known site over one window, taken at `timestamp`."""

    timestamp: float
    span: float
    rows: tuple[WindowStats, ...]


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """Asks the report operator for one report per span in `spans`, as of `now`.

    With `hosts`, the reports cover those sites only and the others' windows are
    dropped (a site removed from the config leaves the reports at once).
    """

    now: float
    spans: tuple[float, ...]
    hosts: frozenset[str] | None = None

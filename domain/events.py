"""The events monitoringApp is built on: probe results in, alert transitions and reports out.

Times are UTC seconds since the epoch (floats); the store turns them into ISO-8601 text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorKind(StrEnum):
    """Why a probe got no HTTP response."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    DNS = "dns"
    TLS = "tls"
    REDIRECTS = "redirects"
    OTHER = "other"


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


class TransitionKind(StrEnum):
    ALERT = "alert"
    RECOVERY = "recovery"


@dataclass(frozen=True, slots=True)
class AlertTransition:
    """A site going down (`ALERT`, `end` is None) or coming back (`RECOVERY`).

    `start` is when the alert was raised; a recovery carries it so that the
    outage reads as one interval [start, end].
    """

    timestamp: float
    host: str
    kind: TransitionKind
    availability: float
    start: float
    end: float | None = None


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

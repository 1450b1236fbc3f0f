"""The events monitoringApp is built on: probe results in, alert transitions and reports out.

Times are UTC seconds since the epoch (floats); the store turns them into ISO-8601 text. Every probe and
transition says where it was seen (`location`, `local` on a single machine), so the same events can come
from probers in several places.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

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


def down_reason(probe: Probe) -> str | None:
    """Why `probe` is down, in words: its `detail` (a failed condition, the verifier's reason, the socket's error),
    else what it got (`status 404`: any status of 400 or more is down) or its error's kind (`timeout`); None for a
    probe that is up."""
    if probe.available:
        return None
    if probe.detail:
        return probe.detail
    if probe.status is not None:
        return f"status {probe.status}"
    return probe.error.value if probe.error is not None else None


ProbeBatch = tuple[Probe, ...]
"""Probes that came together, in the order they came: those that finished while the clock was busy. The
operators take a batch as they would its probes one at a time, and pay reactivex's plumbing once for it."""


ERROR_NUMBER: dict[ErrorKind, int] = {kind: number for number, kind in enumerate(ERROR_KINDS, start=1)}
"""Each error kind's number in an outcome key (0: no error)."""
ERROR_BY_NUMBER: dict[int, ErrorKind] = {number: kind for kind, number in ERROR_NUMBER.items()}
ERROR_BITS = 4
"""Bits an outcome key gives the error number: room for 15 kinds."""
ERROR_MASK = (1 << ERROR_BITS) - 1
STATUS_SHIFT = ERROR_BITS + 1
"""Where the status starts in an outcome key (after the error number and the available bit)."""
if len(ERROR_KINDS) > ERROR_MASK:  # pragma: no cover - caught at import by every test
    raise AssertionError(f"{len(ERROR_KINDS)} error kinds do not fit in an outcome key's {ERROR_BITS} bits")
NO_RESPONSE_MS = -1.0
"""The response time a `ProbeColumns` gives a probe that got no response."""


def outcome_key(status: int | None, error: ErrorKind | None, available: bool) -> int:
    """What a probe found, as one int: `status << STATUS_SHIFT | error number << 1 | available` (status 0: no
    response, error number 0: no error); so probes are told apart by outcome with one int comparison."""
    return (status or 0) << STATUS_SHIFT | (0 if error is None else ERROR_NUMBER[error]) << 1 | bool(available)


def outcome_parts(key: int) -> tuple[int, int, bool]:
    """(status, error number, available) of an `outcome_key`."""
    return key >> STATUS_SHIFT, (key >> 1) & ERROR_MASK, bool(key & 1)


@dataclass(frozen=True, slots=True)
class ProbeColumns:
    """One site's probes as compact columns, in time order: stored probes read back in bulk (a restart's
    past) without a `Probe` per row. Probe i was stamped `timestamps[i]`, got a response in
    `response_times[i]` ms (`NO_RESPONSE_MS` for none) and found `outcomes[i]` (an `outcome_key`); location
    and detail are not carried (the windows do not keep them)."""

    host: str
    timestamps: Sequence[float]
    response_times: Sequence[float]
    outcomes: Sequence[int]

    def __len__(self) -> int:
        return len(self.timestamps)


@dataclass(frozen=True, slots=True)
class PastChunk:
    """Probes of a restart's past read back from the log, newest first: one chunk, per site as columns, and
    how far the reading has come: `probes` read so far (this chunk's included), back to `reached`, of the
    past from `before` back to `since`."""

    sites: tuple[ProbeColumns, ...]
    probes: int
    reached: float
    since: float
    before: float

    @property
    def done(self) -> float:
        """The share of the past's time read so far, from 0 to 1."""
        span = self.before - self.since
        return 1.0 if span <= 0 else min(1.0, max(0.0, (self.before - self.reached) / span))


@dataclass(frozen=True, slots=True)
class LastOutcomes:
    """What a site's stored probes up to a moment say of its failures: its last success and last failure, and
    when its failing run began (`failing_since`: the first failure after the last success, while the last
    failure is after it; None while the last probe is a success). A gap in the probes (no monitor ran) breaks no
    run: the probes say nothing of the gap, so a site last seen failing is still down since that run began, as a
    monitor that never stopped would say from the same probes."""

    host: str
    last_success: float | None
    last_failure: float | None
    failing_since: float | None = None


@dataclass(frozen=True, slots=True)
class OutcomesBefore:
    """Each site's `LastOutcomes` up to `before`, the moment from which the probes themselves follow (a reader's
    history starts after it): what the windows' "down for" and "last fail" start from."""

    before: float
    sites: tuple[LastOutcomes, ...]


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


class WindowStats(NamedTuple):
    """What one site's probes in the window (`now - span`, `now`] add up to.

    Response-time fields are None when no response was received in the window;
    `current_downtime` is None while the site is up, `since_last_failure` None
    when no failure is known.

    A named tuple rather than a frozen dataclass like the other events: a report makes one per site and span,
    and a frozen dataclass's `__init__` sets each of the 15 fields through `object.__setattr__` (1.9 µs a row
    against 0.3 µs, measured: 5 % of the operators' time with the default reports).
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
class Stall:
    """The monitor's clocks did not run from `start` to `end` (UTC epoch seconds): the process was stopped, its VM
    paused or its host starved. The checks due meanwhile were skipped, not made up."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """Asks the report operator for one report per span in `spans`, as of `now`.

    With `hosts`, the reports cover those sites only and the others' windows are
    dropped (a site removed from the config leaves the reports at once).
    """

    now: float
    spans: tuple[float, ...]
    hosts: frozenset[str] | None = None

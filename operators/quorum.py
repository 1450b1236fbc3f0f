"""Judging a site from several locations: every location's probes in, the site's transitions out (no reactivex
here: `operators.evaluation` wraps it).

Each (site, location) runs the single-site alert machine. The site alerts when the number of its locations in
alert reaches `quorum`, and recovers when it falls below. A location not heard from in the alert window is
silent: it counts neither up nor down, and says so once (`silent`, whose start is when it was last heard plus the
alert window, so every evaluator derives the same one) and once more when it is back (`resumed`). A location is
heard at the time its site's judging has reached when its probe is judged: its probe's own time when it comes in
its place, later when it comes behind the others (a spool sent after an outage, a clock behind), so a backlog
resumes at the time it came back, never before its silence began, and a location that keeps sending, however far
behind, is not silent.

Each site's probes are judged in (scheduled time, location) order, whatever order they arrive in: a probe is
held until every location of its site that is not silent has sent a probe at least as recent, or until it has
waited the site's lateness (its check interval plus 2 s) on the evaluator's clock. So a location's backlog sent
late (a prober's spool after an outage) is judged in its place, a dead prober delays its site's verdicts by the
lateness at most, and two evaluators judge the same sequence unless a location is later than that.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from math import inf
from typing import Any

from monitoringapp.domain.config import AlertPolicy
from monitoringapp.domain.events import QUORUM, AlertTransition, Probe, TransitionKind
from monitoringapp.operators.alert_machine import SiteAlertMachine

LATE_SLACK = 2.0


@dataclass(frozen=True, slots=True)
class QuorumPolicy:
    """How one site is judged across locations: the single-site `alert` policy, the number of locations in alert
    that make the site alert, and how late (event time) a location's probe may be and still be judged in place."""

    alert: AlertPolicy
    quorum: int = 1
    lateness: float = 1.0 + LATE_SLACK


@dataclass(slots=True)
class SitePast:
    """What a restarted evaluator resumes a site from: its last alert or recovery, each location's own last
    transition, last silence, and last probe time."""

    site: AlertTransition | None = None
    locations: dict[str, AlertTransition] = field(default_factory=dict)
    silences: dict[str, AlertTransition] = field(default_factory=dict)
    last_probe: dict[str, float] = field(default_factory=dict)


class SiteQuorum:
    """One site across its locations."""

    __slots__ = ("alert_start", "heard", "host", "last_probe", "machines", "past", "reached", "silent")

    def __init__(self, host: str, past: SitePast | None = None) -> None:
        self.host = host
        self.past = past or SitePast()
        self.machines: dict[str, SiteAlertMachine] = {}
        site = self.past.site
        self.alert_start: float | None = site.start if site is not None and site.kind is TransitionKind.ALERT else None
        self.last_probe: dict[str, float] = dict(self.past.last_probe)
        # When each location was last heard, by the site's event time: what its silence is measured from.
        self.heard: dict[str, float] = dict(self.past.last_probe)
        self.reached = max(self.last_probe.values(), default=-inf)  # the latest probe time judged, any location's
        self.silent: dict[str, float] = {
            location: silence.start for location, silence in self.past.silences.items()
            if silence.kind is TransitionKind.SILENT}

    def warm(self, probe: Probe, policy: QuorumPolicy) -> None:
        """Take a probe of the past into its location's window without judging it (a restart)."""
        self._machine(probe.location, policy).warm(probe)
        self.last_probe[probe.location] = max(probe.timestamp, self.last_probe.get(probe.location, probe.timestamp))
        self.heard[probe.location] = max(probe.timestamp, self.heard.get(probe.location, probe.timestamp))
        self.reached = max(self.reached, probe.timestamp)

    def judge(self, probe: Probe, policy: QuorumPolicy) -> list[AlertTransition]:
        now, location = probe.timestamp, probe.location
        # Silences due by this probe's time come first, whoever's watermark has or has not reached them yet:
        # what follows from a silence never depends on when an evaluator happened to notice it.
        said = self.silences(now, policy)
        # Heard now, at the time judging has reached: a probe from behind (a backlog, a clock behind) is no older
        # news of its location than one in its place.
        heard = max(now, self.reached)
        if location in self.silent:
            start = self.silent.pop(location)
            # In its place, heard at its own time (never before the silence began, or it would not be one); from
            # behind, when it came back: its backlog's first probe may be older than the silence.
            back = now if now >= start else heard
            said.append(AlertTransition(back, self.host, TransitionKind.RESUMED, None, start, back, location))
        self.last_probe[location] = max(now, self.last_probe.get(location, now))
        self.heard[location] = max(heard, self.heard.get(location, heard))
        self.reached = heard
        machine = self._machine(location, policy)
        own = machine.on_probe(probe, policy.alert)
        if own is not None:
            kind = (TransitionKind.LOCATION_ALERT if own.kind is TransitionKind.ALERT
                    else TransitionKind.LOCATION_RECOVERY)
            said.append(AlertTransition(now, self.host, kind, own.availability, own.start, own.end, location,
                                        own.detail))
        said.extend(self._site_state(now, machine.availability, policy, None if probe.available else probe.detail))
        return said

    def silences(self, now: float, policy: QuorumPolicy) -> list[AlertTransition]:
        """The locations not heard from in the alert window by event time `now`, in location order."""
        said: list[AlertTransition] = []
        for location in sorted(self.heard):
            since = self.heard[location] + policy.alert.window
            if location not in self.silent and since <= now:
                self.silent[location] = since
                said.append(AlertTransition(since, self.host, TransitionKind.SILENT, None, since, None, location))
                said.extend(self._site_state(since, None, policy))
        return said

    def _machine(self, location: str, policy: QuorumPolicy) -> SiteAlertMachine:
        machine = self.machines.get(location)
        if machine is None:
            machine = self.machines[location] = SiteAlertMachine(self.host, policy.alert,
                                                                 self.past.locations.get(location))
        return machine

    def _site_state(self, now: float, availability: float | None, policy: QuorumPolicy,
                    detail: str | None = None) -> list[AlertTransition]:
        down = sum(1 for location, machine in self.machines.items()
                   if machine.alerting and location not in self.silent)
        if self.alert_start is None and down >= policy.quorum:
            self.alert_start = now
            return [AlertTransition(now, self.host, TransitionKind.ALERT, availability, now, None, QUORUM, detail)]
        if self.alert_start is not None and down < policy.quorum:
            start, self.alert_start = self.alert_start, None
            return [AlertTransition(now, self.host, TransitionKind.RECOVERY, availability, start, now, QUORUM)]
        return []


Held = tuple[Probe, Any]
"""A probe and its token (the caller's: e.g. the stream sequence to acknowledge once it is judged)."""


class SiteHold:
    """One site's probes waiting to be judged, in (scheduled time, location) order, and how far each location
    has come."""

    __slots__ = ("_sequence", "heap", "reached")

    def __init__(self) -> None:
        self.heap: list[tuple[float, str, int, float, Held]] = []
        self.reached: dict[str, float] = {}  # each location's latest scheduled time that has arrived
        self._sequence = 0  # the arrival order of equal keys: never compares probes

    def push(self, probe: Probe, token: Any, now: float) -> None:
        location = probe.location
        self.reached[location] = max(probe.timestamp, self.reached.get(location, probe.timestamp))
        heapq.heappush(self.heap, (probe.timestamp, location, self._sequence, now, (probe, token)))
        self._sequence += 1

    def ready(self, waiting_for: Collection[str], now: float, lateness: float) -> Held | None:
        """The first held probe, popped, when every location in `waiting_for` has reached its time or it has
        waited `lateness` seconds by `now`; else None."""
        if not self.heap:
            return None
        scheduled, _, _, arrived, held = self.heap[0]
        if now - arrived >= lateness or all(self.reached.get(location, -inf) >= scheduled
                                            for location in waiting_for):
            heapq.heappop(self.heap)
            return held
        return None

    def __len__(self) -> int:
        return len(self.heap)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became final: the probes released, in judged order, with their tokens, and the transitions, in order."""

    released: tuple[Held, ...] = ()
    transitions: tuple[AlertTransition, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.released or self.transitions)


class QuorumEvaluator:
    """Every configured site judged across locations, each site's probes in (scheduled time, location) order.

    `on_probe` takes a probe as the stream gave it (with a token of the caller's, and the time by the caller's
    clock) and answers what became final: the probes released and the transitions they caused. `tick` releases
    what has waited long enough when nothing arrives. Probes of sites without a policy are released at once
    (they are stored) but not judged."""

    __slots__ = ("holds", "policies", "sites")

    def __init__(self, policies: Mapping[str, QuorumPolicy], past: Mapping[str, SitePast] | None = None,
                 history: Iterable[Probe] = ()) -> None:
        self.policies = dict(policies)
        self.sites = {host: SiteQuorum(host, (past or {}).get(host)) for host in self.policies}
        self.holds = {host: SiteHold() for host in self.policies}
        for host, quorum in self.sites.items():  # a restarted evaluator knows its locations and how far they came
            self.holds[host].reached.update(quorum.last_probe)
        for probe in history:
            site, policy = self.sites.get(probe.host), self.policies.get(probe.host)
            if site is not None and policy is not None:
                site.warm(probe, policy)

    def on_probe(self, probe: Probe, token: Any = None, now: float = 0.0) -> Verdict:
        hold = self.holds.get(probe.host)
        if hold is None:
            return Verdict(((probe, token),))
        hold.push(probe, token, now)
        return self._release((probe.host,), now)

    def tick(self, now: float) -> Verdict:
        """Release, in every site, what has waited its lateness by `now`."""
        return self._release([host for host, hold in self.holds.items() if hold], now)

    def flush(self) -> Verdict:
        """Judge everything still held (the stream has ended, as in a replay)."""
        return self._release(list(self.holds), inf)

    def held(self) -> int:
        return sum(len(hold) for hold in self.holds.values())

    def _release(self, hosts: Iterable[str], now: float) -> Verdict:
        released: list[Held] = []
        transitions: list[AlertTransition] = []
        for host in hosts:
            hold, site, policy = self.holds[host], self.sites[host], self.policies[host]
            while True:
                waiting_for = [location for location in hold.reached if location not in site.silent]
                held = hold.ready(waiting_for, now, policy.lateness)
                if held is None:
                    break
                released.append(held)
                transitions.extend(site.judge(held[0], policy))
        return Verdict(tuple(released), tuple(transitions))

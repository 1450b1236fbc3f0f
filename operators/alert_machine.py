"""The alert state machine: probes in, `AlertTransition`s out (no reactivex here: `operators.alerts` wraps it).

Per site, on every probe: availability over the last `policy.window` seconds
below `policy.threshold` (with at least `policy.min_checks` checks) raises an
alert; while alerting, availability at or above `policy.recovery_threshold`
recovers. Exactly the threshold is not an alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import overload

from monitoringapp.domain.config import AlertPolicy, SitePolicies
from monitoringapp.domain.events import AlertTransition, Probe, ProbeBatch, TransitionKind, down_reason
from monitoringapp.operators.window import AvailabilityWindow

# A restored transition that leaves the machine alerting: a site's alert, or one location's own.
_RAISED = frozenset({TransitionKind.ALERT, TransitionKind.LOCATION_ALERT})


class SiteAlertMachine:
    """One site's alert state; `restored` is the site's last stored transition, if any."""

    __slots__ = ("alert_start", "availability", "host", "window")

    def __init__(self, host: str, policy: AlertPolicy, restored: AlertTransition | None = None) -> None:
        self.host = host
        self.window = AvailabilityWindow(policy.window)
        self.alert_start: float | None = (
            restored.start if restored is not None and restored.kind in _RAISED else None
        )
        self.availability: float | None = None  # over the window, as of the last probe judged

    @property
    def alerting(self) -> bool:
        return self.alert_start is not None

    def warm(self, probe: Probe) -> None:
        """Take a probe of the past into the window without judging it (replay on restart)."""
        self.window.add(probe.timestamp, probe.available)

    def on_probe(self, probe: Probe, policy: AlertPolicy) -> AlertTransition | None:
        """The transition `probe` makes under `policy`, if any; an alert says why its probe was down."""
        window = self.window
        if window.span != policy.window:
            window.set_span(policy.window)
        checks, available = window.add(probe.timestamp, probe.available)
        availability = self.availability = available / checks
        now = window.latest
        if self.alert_start is None:
            if checks >= policy.min_checks and availability < policy.threshold:
                self.alert_start = now
                return AlertTransition(now, self.host, TransitionKind.ALERT, availability, start=now,
                                       detail=down_reason(probe))
        elif availability >= policy.recovery_threshold:
            start, self.alert_start = self.alert_start, None
            return AlertTransition(now, self.host, TransitionKind.RECOVERY, availability, start=start, end=now)
        return None


@dataclass(frozen=True, slots=True)
class AlertStates:
    """Sites' last stored alert or recovery, and their stored probes of the alert window before they came back
    (oldest first), read back for sites a reload adds: those without a machine yet resume from them at their first
    probe, as at a restart, so an alert left open recovers over a whole window, not at the first success.

    `widened`: sites a reload gave a longer alert window, whose probes here fill their machine's window in front
    of what it holds, as a restart would fill it. It held only the old span, so a single failure after a widening
    from 3 s to 60 s was judged over 4 checks (75 %: an alert, and a recovery a second later) where a restart
    would judge it over 60 (98 %)."""

    transitions: Mapping[str, AlertTransition]
    probes: tuple[Probe, ...] = ()
    widened: frozenset[str] = frozenset()


class AlertMachines:
    """Every site's alert machine under the policies in force.

    `on_event` takes policies (each site's, or one `AlertPolicy` for every site; in force from the next
    probe), alert states read back for sites added later (`AlertStates`: each one's last transition and recent
    probes, which stand for `restored` and `history` below), or a probe, which it judges: a transition or None; or
    a batch of probes, judged in order: the transitions they make. A probe before any policy is not judged. A
    site's machine is made at its first probe, warmed with that site's `history` and resumed from its `restored`
    transition. A site removed and added back keeps its machine: it knows more than
    what the log had stored when it came back."""

    __slots__ = ("history", "machines", "policies", "restored")

    def __init__(self, restored: Mapping[str, AlertTransition] | None = None,
                 history: Iterable[Probe] = ()) -> None:
        self.restored = dict(restored or {})
        self.history: dict[str, list[Probe]] = {}
        for past in history:
            self.history.setdefault(past.host, []).append(past)
        self.machines: dict[str, SiteAlertMachine] = {}
        self.policies: SitePolicies | None = None

    @overload
    def on_event(self, event: Probe | AlertPolicy | SitePolicies | AlertStates) -> AlertTransition | None: ...

    @overload
    def on_event(self, event: ProbeBatch) -> list[AlertTransition]: ...

    def on_event(self, event: Probe | ProbeBatch | AlertPolicy | SitePolicies | AlertStates,
                 ) -> AlertTransition | list[AlertTransition] | None:
        if isinstance(event, Probe):
            policies = self.policies
            return None if policies is None else self.judge(event, policies.alert(event.host))
        if isinstance(event, tuple):
            return self.judge_all(event)
        if isinstance(event, AlertStates):
            machines = self.machines
            self.restored.update((host, transition) for host, transition in event.transitions.items()
                                 if host not in machines)
            pasts: dict[str, list[Probe]] = {}
            earlier: dict[str, list[tuple[float, bool]]] = {}
            for past in event.probes:
                if past.host not in machines:
                    pasts.setdefault(past.host, []).append(past)
                elif past.host in event.widened:
                    earlier.setdefault(past.host, []).append((past.timestamp, past.available))
            self.history.update(pasts)  # a later read of a site replaces an earlier one (added, removed, added)
            for host, probes in earlier.items():
                machines[host].window.add_earlier(probes)
            return None
        self.policies = event if isinstance(event, SitePolicies) else SitePolicies(event)
        return None

    def judge_all(self, probes: ProbeBatch) -> list[AlertTransition]:
        """The transitions `probes` make, judged in order as if they had come one at a time."""
        policies = self.policies
        if policies is None:
            return []
        alert, machines = policies.alert, self.machines
        transitions = []
        for probe in probes:  # `judge`, inlined for a site that has its machine: this runs once per probe
            host = probe.host
            machine = machines.get(host)
            policy = alert(host)
            transition = (self.judge(probe, policy) if machine is None else machine.on_probe(probe, policy))
            if transition is not None:
                transitions.append(transition)
        return transitions

    def judge(self, probe: Probe, policy: AlertPolicy) -> AlertTransition | None:
        machine = self.machines.get(probe.host)
        if machine is None:
            machine = self.machines[probe.host] = SiteAlertMachine(probe.host, policy, self.restored.get(probe.host))
            for past in self.history.pop(probe.host, ()):
                machine.warm(past)
        return machine.on_probe(probe, policy)

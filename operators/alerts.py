"""The alert state machine: probes in, `AlertTransition`s out.

Per site, on every probe: availability over the last `policy.window` seconds
below `policy.threshold` (with at least `policy.min_checks` checks) raises an
alert; while alerting, availability at or above `policy.recovery_threshold`
recovers. Exactly the threshold is not an alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

from domain.config import AlertPolicy
from domain.events import AlertTransition, Probe, TransitionKind
from operators.window import SlidingWindow


class SiteAlertMachine:
    """One site's alert state; `restored` is the site's last stored transition, if any."""

    __slots__ = ("alert_start", "host", "window")

    def __init__(self, host: str, policy: AlertPolicy, restored: AlertTransition | None = None) -> None:
        self.host = host
        self.window = SlidingWindow((policy.window,))
        self.alert_start: float | None = (
            restored.start if restored is not None and restored.kind is TransitionKind.ALERT else None
        )

    @property
    def alerting(self) -> bool:
        return self.alert_start is not None

    def warm(self, probe: Probe) -> None:
        """Take a probe of the past into the window without judging it (replay on restart)."""
        self.window.add(probe)

    def on_probe(self, probe: Probe, policy: AlertPolicy) -> AlertTransition | None:
        window = self.window
        if window.spans[0] != policy.window:  # the window has exactly one span, the policy's
            window.set_spans((policy.window,))
        window.add(probe)
        checks, available = window.counts(policy.window)
        availability = available / checks
        now = window.latest
        if self.alert_start is None:
            if checks >= policy.min_checks and availability < policy.threshold:
                self.alert_start = now
                return AlertTransition(now, self.host, TransitionKind.ALERT, availability, start=now)
        elif availability >= policy.recovery_threshold:
            start, self.alert_start = self.alert_start, None
            return AlertTransition(now, self.host, TransitionKind.RECOVERY, availability, start=start, end=now)
        return None


def alert_transitions(
    policies: Observable[AlertPolicy],
    restored: Mapping[str, AlertTransition] | None = None,
    history: tuple[Probe, ...] = (),
) -> Callable[[Observable[Probe]], Observable[AlertTransition]]:
    """Alerts and recoveries of every site in the probe stream.

    `policies` gives the policy in force (the latest one applies from the next
    probe); `restored` the last stored transition per site and `history` the
    stored probes before the stream, so a restart neither repeats an alert nor
    loses a recovery.

    Example: ``probes.pipe(alert_transitions(reactivex.just(AlertPolicy())))``
    """

    def operator(source: Observable[Probe]) -> Observable[AlertTransition]:
        def subscribe(observer: abc.ObserverBase[AlertTransition],
                      scheduler: abc.SchedulerBase | None = None) -> abc.DisposableBase:
            machines: dict[str, SiteAlertMachine] = {}
            policy: list[AlertPolicy] = []  # the latest, once `policies` has given one

            def machine_for(host: str) -> SiteAlertMachine:
                machine = machines.get(host)
                if machine is None:
                    machine = machines[host] = SiteAlertMachine(host, policy[0], (restored or {}).get(host))
                return machine

            def on_policy(latest: AlertPolicy) -> None:
                if not policy:
                    policy.append(latest)
                    for past in history:
                        machine_for(past.host).warm(past)
                policy[0] = latest

            def on_probe(probe: Probe) -> None:
                if not policy:
                    return  # like with_latest_from: nothing to judge by yet
                transition = machine_for(probe.host).on_probe(probe, policy[0])
                if transition is not None:
                    observer.on_next(transition)

            return CompositeDisposable(
                policies.subscribe(on_policy, observer.on_error, scheduler=scheduler),
                source.subscribe(on_probe, observer.on_error, observer.on_completed, scheduler=scheduler),
            )

        return Observable(subscribe)

    return operator

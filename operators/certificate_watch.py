"""Certificate warnings: probes in, a warning out when a site's certificate comes within one of its warning
thresholds (no reactivex here: `operators.certificates` wraps it).

Each https probe carries its certificate's notAfter. A probe `left` days before it, with `left` at or below
thresholds not yet warned for that certificate, gives one warning: the tightest threshold it crossed (the wider
ones count as told, so a monitor started three days before expiry says so once, not three times). A renewed
certificate (another notAfter) starts over. The warnings already stored are told again to nobody: `warned`
restores them, so a restart warns no threshold twice. Several locations probing one site see one certificate:
the watch keys it by site, not location, and a warning's id (site, location, notAfter, threshold) is what
another evaluator's copy of it shares.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import overload

from monitoringapp.domain.config import AlertPolicy, SitePolicies
from monitoringapp.domain.events import LOCAL, AlertTransition, Probe, ProbeBatch, TransitionKind
from monitoringapp.domain.timefmt import format_duration

DAY = 86400.0


def expiry_text(not_after: float, now: float) -> str:
    """`expires in 6d23h`, or `expired 2d03h ago`."""
    left = not_after - now
    return f"expires in {format_duration(left)}" if left >= 0 else f"expired {format_duration(-left)} ago"


@dataclass(frozen=True, slots=True)
class WarningsTold:
    """Certificate warnings already stored, read back for sites a reload adds: none of them is told again."""

    warnings: tuple[AlertTransition, ...]


class CertificateWatch:
    """Every site's certificates and the thresholds already warned; `location` is the warnings' (LOCAL for a
    monitor, QUORUM for an evaluator)."""

    __slots__ = ("location", "policies", "warned")

    def __init__(self, warned: Iterable[AlertTransition] = (), location: str = LOCAL) -> None:
        self.location = location
        self.policies: SitePolicies | None = None
        self.warned: dict[tuple[str, float], float] = {}  # (site, notAfter) -> the tightest threshold told (days)
        self._told_before(warned)

    @overload
    def on_event(self, event: Probe | AlertPolicy | SitePolicies | WarningsTold) -> AlertTransition | None: ...

    @overload
    def on_event(self, event: ProbeBatch) -> list[AlertTransition]: ...

    def on_event(self, event: Probe | ProbeBatch | AlertPolicy | SitePolicies | WarningsTold,
                 ) -> AlertTransition | list[AlertTransition] | None:
        """Policies (in force from the next probe; an `AlertPolicy` alone: the default days for every site),
        warnings stored for sites added later (`WarningsTold`), or a probe: its warning, if it gives one; or a
        batch of probes: their warnings, in order. A probe before any policy gives none."""
        if isinstance(event, Probe):
            policies = self.policies
            return None if policies is None else self.judge(event, policies.certificate(event.host))
        if isinstance(event, tuple):
            return self.judge_all(event)
        if isinstance(event, WarningsTold):
            self._told_before(event.warnings)
            return None
        self.policies = event if isinstance(event, SitePolicies) else SitePolicies(event)
        return None

    def judge_all(self, probes: ProbeBatch) -> list[AlertTransition]:
        """The warnings `probes` give, judged in order as if they had come one at a time."""
        policies = self.policies
        if policies is None:
            return []
        days_of, judge = policies.certificate, self.judge
        return [warning for probe in probes if (warning := judge(probe, days_of(probe.host))) is not None]

    def judge(self, probe: Probe, days: tuple[float, ...]) -> AlertTransition | None:
        not_after = probe.certificate_expiry
        if not_after is None or not days:
            return None
        left = (not_after - probe.timestamp) / DAY
        crossed = [threshold for threshold in days if left <= threshold]
        if not crossed:
            return None
        tightest = min(crossed)
        told = self.warned.get((probe.host, not_after))
        if told is not None and told <= tightest:
            return None
        self._told(probe.host, not_after, tightest)
        self._forget_before(probe.timestamp - max(days) * DAY)
        return AlertTransition(probe.timestamp, probe.host, TransitionKind.CERTIFICATE, None, not_after,
                               not_after - tightest * DAY, self.location, expiry_text(not_after, probe.timestamp))

    def _told_before(self, warned: Iterable[AlertTransition]) -> None:
        for warning in warned:
            if warning.kind is TransitionKind.CERTIFICATE and warning.end is not None:
                self._told(warning.host, warning.start, (warning.start - warning.end) / DAY)

    def _told(self, site: str, not_after: float, threshold: float) -> None:
        key = (site, not_after)
        self.warned[key] = min(threshold, self.warned.get(key, threshold))

    def _forget_before(self, moment: float) -> None:
        """Certificates that expired long ago are no longer warned of: their entries go."""
        for key in [key for key in self.warned if key[1] < moment]:
            del self.warned[key]

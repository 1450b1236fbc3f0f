"""The alert operator: probes in, `AlertTransition`s out, judged by `operators.alert_machine`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from reactivex import Observable

from monitoringapp.domain.config import AlertPolicy, SitePolicies
from monitoringapp.domain.events import AlertTransition, Probe, ProbeBatch
from monitoringapp.operators.alert_machine import AlertMachines, AlertStates
from monitoringapp.operators.typed import judged_by


def alert_transitions(
    policies: Observable[AlertPolicy | SitePolicies | AlertStates],
    restored: Mapping[str, AlertTransition] | None = None,
    history: Iterable[Probe] = (),
) -> Callable[[Observable[Probe | ProbeBatch]], Observable[AlertTransition]]:
    """Alerts and recoveries of every site in the probe stream (of probes, or batches of them).

    `policies` gives the policies in force (each site's, or one `AlertPolicy` for all): merged into one
    stream with the probes (subscribed first, so a policy known at subscription judges the first probe), the
    latest applies from the next probe, and a probe before any policy is not judged. `restored` is the last
    stored transition per site and `history` the stored probes before the stream, so a restart neither repeats
    an alert nor loses a recovery; `AlertStates` in `policies` do the same for sites that come later (a reload
    adds them), before their first probe.

    ```text
    probes:    --p1----p2----p3(down)--p4(down)--|
    policies:  P------------------------------------
               [alert_transitions(policies)]
    out:       -----------------------Alert(p4)----|
    ```

    Example:

    >>> import reactivex
    >>> from monitoringapp.domain.events import Probe
    >>> ups = [True, True, False, False, True, True, True, True, True, True]
    >>> probes = [Probe(float(t), "http://a/", up, 200 if up else 503, 1.0) for t, up in enumerate(ups)]
    >>> reactivex.from_iterable(probes).pipe(alert_transitions(reactivex.just(AlertPolicy()))).subscribe(
    ...     lambda transition: print(transition.kind.value, transition.timestamp, f"{transition.availability:.3f}"))
    alert 2.0 0.667
    recovery 9.0 0.800
    <...>
    """

    def machines() -> Callable[[Probe | ProbeBatch | AlertPolicy | SitePolicies | AlertStates],
                     AlertTransition | list[AlertTransition] | None]:
        return AlertMachines(restored, history).on_event

    return judged_by(policies, machines)

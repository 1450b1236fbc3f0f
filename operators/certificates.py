"""The certificate warning operator: probes in, a `certificate` transition out when a site's certificate
comes within one of its warning thresholds, judged by `operators.certificate_watch`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from reactivex import Observable

from monitoringapp.domain.config import AlertPolicy, SitePolicies
from monitoringapp.domain.events import LOCAL, AlertTransition, Probe, ProbeBatch
from monitoringapp.operators.certificate_watch import CertificateWatch, WarningsTold
from monitoringapp.operators.typed import judged_by


def certificate_warnings(
    policies: Observable[AlertPolicy | SitePolicies | WarningsTold],
    warned: Iterable[AlertTransition] = (),
    location: str = LOCAL,
) -> Callable[[Observable[Probe | ProbeBatch]], Observable[AlertTransition]]:
    """A warning each time a site's certificate first comes within one of its `certificateExpiryDays` (the probes
    come one at a time or in batches).

    `policies` says each site's days (merged in before the probes, as for `alert_transitions`); `warned` are
    the warnings already stored (a restart tells none of them again), and `WarningsTold` in `policies` those of
    sites that come later (a reload adds them); `location` is the warnings' own.

    ```text
    probes:    --p(20d left)----p(13d left)----p(12d left)----p(6d left)--|
    policies:  P------------------------------------------------------------
               [certificate_warnings(policies)]
    out:       -----------------W(14d)-------------------------W(7d)-----|
    ```

    Example:

    >>> import reactivex
    >>> day = 86400.0
    >>> probes = [Probe(t * day, "https://a/", True, 200, 1.0, certificate_expiry=20 * day) for t in range(16)]
    >>> reactivex.from_iterable(probes).pipe(certificate_warnings(reactivex.just(AlertPolicy()))).subscribe(
    ...     lambda warning: print(warning.timestamp / day, warning.detail))
    6.0 expires in 14d00h
    13.0 expires in 7d00h
    <...>
    """

    def watch() -> Callable[[Probe | ProbeBatch | AlertPolicy | SitePolicies | WarningsTold],
                  AlertTransition | list[AlertTransition] | None]:
        return CertificateWatch(warned, location).on_event

    return judged_by(policies, watch)

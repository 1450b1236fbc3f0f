"""Certificate warnings in virtual time: one per certificate and threshold, the tightest crossed, none repeated
after a restart, a renewed certificate starting over."""

from __future__ import annotations

import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from monitoringapp.domain.config import AlertPolicy, SitePolicies
from monitoringapp.domain.events import QUORUM, AlertTransition, Probe, TransitionKind
from monitoringapp.operators.certificate_watch import DAY, CertificateWatch
from monitoringapp.operators.certificates import certificate_warnings

on_next = ReactiveTest.on_next
SITE = "https://shop.test/"
EXPIRES = 30 * DAY


def probe(day: float, not_after: float | None = EXPIRES, site: str = SITE, location: str = "local") -> Probe:
    return Probe(day * DAY, site, True, 200, 1.0, location=location, certificate_expiry=not_after)


def test_one_warning_per_threshold_as_the_days_left_cross_it() -> None:
    scheduler = TestScheduler()
    days = [10, 15, 16, 17, 22, 23, 24, 29, 29.5]
    source = scheduler.create_hot_observable(*(on_next(300 + i, probe(day)) for i, day in enumerate(days)))
    result = scheduler.start(lambda: source.pipe(certificate_warnings(reactivex.just(AlertPolicy()))))
    warnings = [message.value.value for message in result.messages]
    assert [(m.time, w.timestamp / DAY, w.end) for m, w in zip(result.messages, warnings, strict=True)] == [
        (302, 16, EXPIRES - 14 * DAY),  # 14 days left: the first threshold
        (305, 23, EXPIRES - 7 * DAY),
        (307, 29, EXPIRES - 1 * DAY),
    ]
    assert {w.kind for w in warnings} == {TransitionKind.CERTIFICATE}
    assert [(w.start, w.availability, w.detail) for w in warnings] == [
        (EXPIRES, None, "expires in 14d00h"), (EXPIRES, None, "expires in 7d00h"), (EXPIRES, None, "expires in 1d00h")]
    assert len({w.id for w in warnings}) == 3, "each threshold its own id"


def test_a_monitor_started_close_to_expiry_warns_once_with_the_tightest_threshold() -> None:
    watch = CertificateWatch()
    watch.on_event(AlertPolicy())
    late = watch.on_event(probe(27))
    assert late is not None and late.end == EXPIRES - 7 * DAY and late.detail == "expires in 3d00h"
    assert watch.on_event(probe(27.5)) is None


def test_a_restart_warns_no_threshold_twice_and_a_renewed_certificate_starts_over() -> None:
    told = AlertTransition(16 * DAY, SITE, TransitionKind.CERTIFICATE, None, EXPIRES, EXPIRES - 14 * DAY)
    watch = CertificateWatch([told])
    watch.on_event(SitePolicies(certificates={SITE: (14.0, 7.0)}))
    assert watch.on_event(probe(17)) is None
    seven = watch.on_event(probe(23.5))
    assert seven is not None and seven.end == EXPIRES - 7 * DAY
    renewed = 120 * DAY
    assert watch.on_event(probe(24, renewed)) is None  # 96 days left: nothing to say
    soon = watch.on_event(probe(110, renewed))
    assert soon is not None and (soon.start, soon.end) == (renewed, renewed - 14 * DAY)


def test_a_site_without_days_an_http_site_and_a_probe_before_any_policy_give_no_warning() -> None:
    watch = CertificateWatch()
    assert watch.on_event(probe(29)) is None  # no policy yet
    watch.on_event(SitePolicies(certificates={SITE: ()}))
    assert watch.on_event(probe(29)) is None
    assert watch.on_event(probe(29, None, "http://plain.test/")) is None


def test_several_locations_seeing_one_certificate_make_one_warning_with_the_evaluators_location() -> None:
    watch = CertificateWatch(location=QUORUM)
    watch.on_event(AlertPolicy())
    first = watch.on_event(probe(16, location="eu"))
    again = watch.on_event(probe(16, location="us"))
    assert first is not None and again is None and first.location == QUORUM
    other_evaluator = CertificateWatch(location=QUORUM)
    other_evaluator.on_event(AlertPolicy())
    copy = other_evaluator.on_event(probe(16.5, location="us"))
    assert copy is not None and copy.id == first.id, "the stream drops the second evaluator's copy by its id"


def test_a_batch_gives_the_warnings_its_probes_give_one_at_a_time() -> None:
    other = "https://other.test/"
    probes = [probe(day, site=site) for day in (10, 16, 20, 23, 24, 29) for site in (SITE, other)]
    watch = CertificateWatch()
    watch.on_event(AlertPolicy())
    one_at_a_time = [warning for p in probes if (warning := watch.on_event(p)) is not None]
    batched = CertificateWatch()
    assert batched.on_event(tuple(probes)) == []  # no policy yet: nothing judged
    batched.on_event(AlertPolicy())
    assert batched.on_event(tuple(probes[:5])) + batched.on_event(tuple(probes[5:])) == one_at_a_time
    assert [(w.host, w.timestamp / DAY, w.detail) for w in one_at_a_time] == [
        (SITE, 16, "expires in 14d00h"), (other, 16, "expires in 14d00h"),
        (SITE, 23, "expires in 7d00h"), (other, 23, "expires in 7d00h"),
        (SITE, 29, "expires in 1d00h"), (other, 29, "expires in 1d00h")]

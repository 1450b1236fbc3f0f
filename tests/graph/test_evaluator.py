"""The evaluator's graph in virtual time: batches in, verdicts out; a probe waits for its site's other
locations at most its lateness; what was judged before is acknowledged, not judged again."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reactivex.testing import ReactiveTest, TestScheduler

from monitoringapp.domain.config import AlertPolicy, parse_config
from monitoringapp.domain.events import QUORUM, AlertTransition, Probe, TransitionKind
from monitoringapp.graph.evaluator import BatchVerdict, Delivered, evaluation, quorum_policies
from monitoringapp.operators.clock_skew import ClockAhead
from monitoringapp.operators.quorum import QuorumPolicy

on_next = ReactiveTest.on_next
SITE = "http://a.test/"
POLICIES = {SITE: QuorumPolicy(AlertPolicy(window=10), quorum=1, lateness=3.0)}


def probe(t: float, location: str) -> Probe:
    return Probe(t, SITE, True, 200, 1.0, location=location)


def run(batches: list[tuple[float, Sequence[Delivered]]], judged_before: set[int] = frozenset()
        ) -> list[tuple[float, BatchVerdict]]:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(*(on_next(at, batch) for at, batch in batches))
    result = scheduler.start(lambda: source.pipe(evaluation(
        POLICIES, scheduler, judged_among=lambda seqs: {s for s in seqs if s in judged_before})), disposed=1000)
    return [(m.time, m.value.value) for m in result.messages]


def judged(verdict: BatchVerdict) -> list[tuple[str, float, int]]:
    return [(p.location, p.timestamp, seq) for p, seq in verdict.judged]


def delivered(sequence: int, probe: Probe, *, again: bool = False, arrived: float | None = None) -> Delivered:
    """`probe` as the consumer delivers it; it arrived in the stream at its own time unless `arrived` says."""
    return sequence, probe, again, probe.timestamp if arrived is None else arrived


# Both locations are known from the first batch on (a location not seen yet cannot be waited for).
KNOWN = (205, [delivered(1, probe(9, "us")), delivered(2, probe(9, "eu"))])


def test_a_probe_waits_for_the_sites_other_location_then_both_are_judged_in_time_then_location_order() -> None:
    out = run([KNOWN, (210, [delivered(3, probe(10, "us"))]),
               (211, [delivered(4, probe(10, "eu")), delivered(5, probe(11, "us"))]),
               (212, [delivered(6, probe(11, "eu"))])])
    assert [(at, judged(v)) for at, v in out][1:] == [
        (211, [("eu", 10.0, 4), ("us", 10.0, 3)]),
        (212, [("eu", 11.0, 6), ("us", 11.0, 5)])]


def test_an_empty_batch_releases_a_probe_that_has_waited_its_lateness() -> None:
    out = run([KNOWN, (210, [delivered(3, probe(10, "us"))]),  # eu's 10 never comes
               (212.9, []), (213, [])])
    assert [(at, judged(v)) for at, v in out][1:] == [(213, [("us", 10.0, 3)])]


def test_a_message_judged_before_is_acknowledged_and_a_held_one_delivered_again_ignored() -> None:
    out = run([KNOWN, (210, [delivered(3, probe(10, "us")), delivered(3, probe(10, "us"), again=True),
                             delivered(9, probe(5, "us"), again=True)]),
               (211, [delivered(4, probe(10, "eu"))])], judged_before={9})
    assert [(at, judged(v), v.already_judged) for at, v in out][1:] == [
        (210, [], (9,)),
        (211, [("eu", 10.0, 4), ("us", 10.0, 3)], ())]


def test_each_site_is_judged_by_its_own_policy_and_a_certificate_is_warned_of_once_whatever_location_saw_it() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": SITE, "alertWindow": 10, "alertThreshold": 0.5},
                                                   {"URL": "https://b.test/", "name": "b"}],
                                      "alertWindow": 600}))
    policies = quorum_policies(config)
    assert (policies[SITE].alert, policies["b"].alert) == (AlertPolicy(10, 0.5, 0.5), AlertPolicy(600))
    expires = 10 * 86400.0

    def secure(t: float, location: str) -> Probe:
        return Probe(4 * 86400 + t, "b", True, 200, 1.0, location=location, certificate_expiry=expires)

    told = AlertTransition(0.0, "b", TransitionKind.CERTIFICATE, None, expires, expires - 14 * 86400, QUORUM)
    scheduler = TestScheduler()
    batches = [on_next(205, [delivered(1, secure(1, "us")), delivered(2, secure(1, "eu"))]),
               on_next(206, [delivered(3, secure(2, "us")), delivered(4, secure(2, "eu"))])]
    source = scheduler.create_hot_observable(*batches)
    result = scheduler.start(lambda: source.pipe(evaluation(policies, scheduler, certificates=config.policies,
                                                            warned=[told])), disposed=1000)
    warnings = [t for m in result.messages for t in m.value.value.transitions]
    # 14 days was told before the restart; 7 days now, once, though both locations saw it twice.
    assert [(w.kind, w.location, w.end) for w in warnings] == [
        (TransitionKind.CERTIFICATE, QUORUM, expires - 7 * 86400)]


def test_a_location_whose_probes_are_stamped_ahead_of_their_arrival_is_named_once_in_the_verdict_of_its_batch(
        ) -> None:
    def ahead(sequence: int, t: float, by: float) -> Delivered:
        return delivered(sequence, probe(t, "eu"), arrived=t - by)

    scheduler = TestScheduler()
    batches = [on_next(205, [delivered(1, probe(9, "us")), ahead(2, 130, 121.0)]),  # eu held: us is at 9 only
               on_next(206, [ahead(3, 131, 121.0), delivered(4, probe(10, "us"), arrived=900.0)]),  # us: spooled
               on_next(207, [ahead(5, 132, 60.0)]),  # at the limit: a read by time still finds it
               on_next(3806, [ahead(6, 3730, 120.5)]),  # the last one ahead was at 206: an hour ago, told again
               on_next(3807, [delivered(7, probe(3731, "us"))])]
    source = scheduler.create_hot_observable(*batches)
    result = scheduler.start(lambda: source.pipe(evaluation(POLICIES, scheduler, clock_skew=60.0)), disposed=5000)
    assert [(m.time, m.value.value.clocks_ahead) for m in result.messages if m.value.value.clocks_ahead] == [
        (205, (ClockAhead("eu", 121.0),)), (3806, (ClockAhead("eu", 120.5),))]


def test_a_sites_own_quorum_and_lateness_come_from_its_config_the_rest_from_the_top_level() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": SITE, "checkInterval": 5, "quorum": 3},
                                                   {"URL": "http://b.test/"}],
                                      "quorum": 2, "defaultCheckInterval": 10, "alertWindow": 60}))
    assert quorum_policies(config) == {
        SITE: QuorumPolicy(AlertPolicy(window=60), quorum=3, lateness=7.0),
        "http://b.test/": QuorumPolicy(AlertPolicy(window=60), quorum=2, lateness=12.0)}

"""The evaluator's graph in virtual time: batches in, verdicts out; a probe waits for its site's other
locations at most its lateness; what was judged before is acknowledged, not judged again."""

from __future__ import annotations

import json
from collections.abc import Sequence

from reactivex.testing import ReactiveTest, TestScheduler

from monitoringapp.domain.config import AlertPolicy, parse_config
from monitoringapp.domain.events import QUORUM, AlertTransition, Probe, TransitionKind
from monitoringapp.graph.evaluator import BatchVerdict, Delivered, evaluation, quorum_policies
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


# Both locations are known from the first batch on (a location not seen yet cannot be waited for).
KNOWN = (205, [(1, probe(9, "us"), False), (2, probe(9, "eu"), False)])


def test_a_probe_waits_for_the_sites_other_location_then_both_are_judged_in_time_then_location_order() -> None:
    out = run([KNOWN, (210, [(3, probe(10, "us"), False)]),
               (211, [(4, probe(10, "eu"), False), (5, probe(11, "us"), False)]),
               (212, [(6, probe(11, "eu"), False)])])
    assert [(at, judged(v)) for at, v in out][1:] == [
        (211, [("eu", 10.0, 4), ("us", 10.0, 3)]),
        (212, [("eu", 11.0, 6), ("us", 11.0, 5)])]


def test_an_empty_batch_releases_a_probe_that_has_waited_its_lateness() -> None:
    out = run([KNOWN, (210, [(3, probe(10, "us"), False)]),  # eu's 10 never comes
               (212.9, []), (213, [])])
    assert [(at, judged(v)) for at, v in out][1:] == [(213, [("us", 10.0, 3)])]


def test_a_message_judged_before_is_acknowledged_and_a_held_one_delivered_again_ignored() -> None:
    out = run([KNOWN, (210, [(3, probe(10, "us"), False), (3, probe(10, "us"), True), (9, probe(5, "us"), True)]),
               (211, [(4, probe(10, "eu"), False)])], judged_before={9})
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
    batches = [on_next(205, [(1, secure(1, "us"), False), (2, secure(1, "eu"), False)]),
               on_next(206, [(3, secure(2, "us"), False), (4, secure(2, "eu"), False)])]
    source = scheduler.create_hot_observable(*batches)
    result = scheduler.start(lambda: source.pipe(evaluation(policies, scheduler, certificates=config.policies,
                                                            warned=[told])), disposed=1000)
    warnings = [t for m in result.messages for t in m.value.value.transitions]
    # 14 days was told before the restart; 7 days now, once, though both locations saw it twice.
    assert [(w.kind, w.location, w.end) for w in warnings] == [
        (TransitionKind.CERTIFICATE, QUORUM, expires - 7 * 86400)]


def test_a_sites_own_quorum_and_lateness_come_from_its_config_the_rest_from_the_top_level() -> None:
    config = parse_config(json.dumps({"websites": [{"URL": SITE, "checkInterval": 5, "quorum": 3},
                                                   {"URL": "http://b.test/"}],
                                      "quorum": 2, "defaultCheckInterval": 10, "alertWindow": 60}))
    assert quorum_policies(config) == {
        SITE: QuorumPolicy(AlertPolicy(window=60), quorum=3, lateness=7.0),
        "http://b.test/": QuorumPolicy(AlertPolicy(window=60), quorum=2, lateness=12.0)}

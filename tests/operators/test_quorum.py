"""Quorum across locations, silences and the deterministic release order, with exact event times."""

from __future__ import annotations

import random

import reactivex

from monitoringapp.domain.config import AlertPolicy
from monitoringapp.domain.events import QUORUM, AlertTransition, Probe, TransitionKind
from monitoringapp.operators.alerts import alert_transitions
from monitoringapp.operators.quorum import QuorumEvaluator, QuorumPolicy, SiteHold, SitePast

SITE = "http://shop.test/"
POLICY = AlertPolicy(window=10)


def probes(location: str, ups: list[bool], start: float = 100.0, interval: float = 1.0) -> list[Probe]:
    return [Probe(start + i * interval, SITE, up, 200 if up else 503, 1.0, location=location)
            for i, up in enumerate(ups)]


def interleave(*streams: list[Probe]) -> list[Probe]:
    return sorted((p for stream in streams for p in stream), key=lambda p: (p.timestamp, p.location))


def all_transitions(evaluator: QuorumEvaluator, stream: list[Probe], delay: dict[str, float] | None = None,
                    ) -> list[AlertTransition]:
    """Transitions of `stream`, each probe arriving at its own time plus its location's `delay`."""
    arrivals = sorted(stream, key=lambda p: (p.timestamp + (delay or {}).get(p.location, 0.0), p.location))
    verdicts = [evaluator.on_probe(probe, None, probe.timestamp + (delay or {}).get(probe.location, 0.0))
                for probe in arrivals] + [evaluator.flush()]
    return [transition for verdict in verdicts for transition in verdict.transitions]


def site_transitions(evaluator: QuorumEvaluator, stream: list[Probe]) -> list[AlertTransition]:
    return [t for t in all_transitions(evaluator, stream) if t.location == QUORUM]


def kinds(transitions: list[AlertTransition]) -> list[tuple[str, float]]:
    return [(t.kind.value, t.timestamp) for t in transitions]


def test_one_location_failing_alerts_at_quorum_1_and_not_at_quorum_2() -> None:
    # eu fails from t=103 on; us stays up. Over 10 s: 3 up of 4 at 103 is 75 % < 80 %: eu alerts at 103.
    stream = interleave(probes("eu", [True] * 3 + [False] * 7), probes("us", [True] * 10))
    one = site_transitions(QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=1)}), stream)
    two = site_transitions(QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=2)}), stream)
    assert kinds(one) == [("alert", 103.0)]
    assert two == []


def test_failing_for_both_alerts_once_at_quorum_2_at_the_probe_where_the_second_location_crosses() -> None:
    # eu crosses at 103 (3/4), us fails from 105 on and crosses at 106 (5 up of 7: 71 %; at 105 5/6 = 83 %).
    stream = interleave(probes("eu", [True] * 3 + [False] * 9), probes("us", [True] * 5 + [False] * 7))
    (alert,) = site_transitions(QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=2)}), stream)
    assert (alert.kind, alert.timestamp, alert.start, alert.location) == (TransitionKind.ALERT, 106.0, 106.0, QUORUM)
    assert alert.availability == 5 / 7  # the location that made the quorum


def test_with_one_location_the_transitions_equal_the_single_machines_on_the_same_probes() -> None:
    rng = random.Random(7)
    ups = [rng.random() < (0.5 if 40 <= i < 90 or 150 <= i < 170 else 0.97) for i in range(300)]
    stream = probes("local", ups)
    single: list[AlertTransition] = []
    reactivex.from_iterable(stream).pipe(alert_transitions(reactivex.just(POLICY))).subscribe(single.append)
    quorum = site_transitions(QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=1)}), stream)
    assert len(single) >= 4
    assert [(t.kind, t.timestamp, t.availability, t.start, t.end) for t in quorum] == [
        (t.kind, t.timestamp, t.availability, t.start, t.end) for t in single]


def test_a_killed_location_goes_silent_one_window_after_its_last_probe_never_down_and_resumes() -> None:
    # eu stops after t=104 (last probe 104) and is back at 130; us goes on. Window 10 s, lateness 3 s: the
    # silence starts at 114; us's probe of 114 waits 3 s for eu, so the silence is told when us's 117 arrives.
    eu = probes("eu", [True] * 5) + probes("eu", [True] * 5, start=130.0)
    us = probes("us", [True] * 40)
    evaluator = QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=1, lateness=3.0)})
    told: list[tuple[str, float, str]] = []
    for probe in interleave(eu, us):
        for event in evaluator.on_probe(probe, None, probe.timestamp).transitions:
            told.append((event.kind.value, event.start, event.location))
            if event.kind is TransitionKind.SILENT:
                assert (probe.location, probe.timestamp) == ("us", 117.0)
    assert told == [("silent", 114.0, "eu"), ("resumed", 114.0, "eu")]


def test_a_location_whose_backlog_comes_after_its_silence_resumes_at_the_time_judging_had_reached_not_before() -> None:
    # us loses NATS after t=104 (its probes spooled), eu goes on; us's backlog (105..139) comes at t=140, one probe
    # before each of eu's: the silence (114) was told, and us resumes when it is heard, at eu's 139, not at its
    # first spooled probe (105, before the silence began); its backlog, behind eu's time, silences it no more.
    eu = probes("eu", [True] * 60)
    us = probes("us", [True] * 60)
    evaluator = QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=1, lateness=3.0)})
    live = [p for p in interleave(eu, us) if p.timestamp <= 104.0 or (p.location == "eu" and p.timestamp <= 139.0)]
    out = [e for probe in live for e in evaluator.on_probe(probe, None, probe.timestamp).transitions]
    backlog = [p for p in us if p.timestamp > 104.0]
    after = [p for p in eu if p.timestamp > 139.0]
    for n, probe in enumerate(backlog):
        out += evaluator.on_probe(probe, None, 140.0 + n * 0.01).transitions
        if n < len(after):
            out += evaluator.on_probe(after[n], None, 140.0 + n * 0.01).transitions
    assert [(e.kind.value, e.timestamp, e.start, e.location) for e in out] == [
        ("silent", 114.0, 114.0, "us"), ("resumed", 139.0, 114.0, "us")]
    (resumed,) = [e for e in out if e.kind is TransitionKind.RESUMED]
    assert resumed.end == 139.0


def test_a_location_whose_clock_is_behind_by_more_than_the_window_is_never_silent_while_its_probes_come() -> None:
    # us's clock is 15 s behind (its probes stamped 15 s before they are taken), the window 10 s: each of its probes
    # is judged after eu's of the same moment (waited for 3 s), but it is heard, not silent; once it stops, it is.
    eu = probes("eu", [True] * 60)
    us = [Probe(p.timestamp - 15.0, SITE, True, 200, 1.0, location="us") for p in probes("us", [True] * 40)]
    arrivals = sorted([(p.timestamp, p) for p in eu] + [(p.timestamp + 15.0, p) for p in us],
                      key=lambda pair: (pair[0], pair[1].location))
    evaluator = QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=1, lateness=3.0)})
    out = [e for now, probe in arrivals for e in evaluator.on_probe(probe, None, now).transitions]
    # Each of eu's probes waits its 3 s for us: us's last probe (stamped 124) comes at 139, when judging has reached
    # eu's 136. Heard then, silent from 146.
    assert [(e.kind.value, e.start, e.location) for e in out] == [("silent", 146.0, "us")]


def test_a_silent_location_that_was_down_stops_counting_and_the_site_recovers() -> None:
    eu = probes("eu", [False] * 5)  # down, then gone after 104
    us = probes("us", [True] * 30)
    evaluator = QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=1, lateness=3.0)})
    out = [e for probe in interleave(eu, us) for e in evaluator.on_probe(probe, None, probe.timestamp).transitions]
    assert [(e.kind.value, e.start, e.location) for e in out] == [
        ("location-alert", 100.0, "eu"), ("alert", 100.0, QUORUM), ("silent", 114.0, "eu"),
        ("recovery", 100.0, QUORUM)]


def test_a_late_location_is_judged_in_its_place_so_every_arrival_order_gives_the_same_transitions() -> None:
    stream = interleave(probes("eu", [True] * 3 + [False] * 9), probes("us", [True] * 5 + [False] * 7))
    expected = site_transitions(QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=2, lateness=3.0)}), stream)
    # us arrives 2 s late (within the lateness), or its whole backlog at once after the others' (a spool sent
    # after an outage, in less than the lateness of wall time): the same verdicts.
    late = all_transitions(QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=2, lateness=3.0)}), stream,
                           {"us": 2.0})
    backlog = [p for p in stream if p.location == "eu"] + [p for p in stream if p.location == "us"]
    evaluator = QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=2, lateness=3.0)})
    verdicts = [evaluator.on_probe(probe, None, 200.0) for probe in backlog] + [evaluator.flush()]
    assert [t for t in late if t.location == QUORUM] == expected
    assert [t for v in verdicts for t in v.transitions if t.location == QUORUM] == expected and expected


def test_a_held_probe_goes_when_every_live_location_has_reached_it_or_it_has_waited_its_lateness() -> None:
    hold = SiteHold()
    a = Probe(10.0, SITE, True, 200, 1.0, location="us")
    b = Probe(10.0, SITE, True, 200, 1.0, location="eu")
    hold.push(a, 1, now=50.0)
    assert hold.ready(["eu", "us"], now=52.9, lateness=3.0) is None  # eu has not reached 10 yet
    assert hold.ready(["us"], now=50.0, lateness=3.0) == (a, 1)  # eu silent: not waited for
    hold.push(a, 1, now=50.0)
    assert hold.ready(["eu", "us"], now=53.0, lateness=3.0) == (a, 1)  # waited its lateness
    hold.push(a, 1, now=60.0)
    hold.push(b, 2, now=60.5)
    assert [hold.ready(["eu", "us"], now=60.5, lateness=3.0) for _ in range(3)] == [(b, 2), (a, 1), None]


def test_a_restarted_evaluator_resumes_each_locations_alert_and_the_sites_without_repeating_them() -> None:
    site = AlertTransition(100.0, SITE, TransitionKind.ALERT, 0.0, 100.0, None, QUORUM)
    eu = AlertTransition(100.0, SITE, TransitionKind.LOCATION_ALERT, 0.0, 100.0, None, "eu")
    past = SitePast(site=site, locations={"eu": eu}, last_probe={"eu": 109.0})
    evaluator = QuorumEvaluator({SITE: QuorumPolicy(POLICY, quorum=1)}, {SITE: past},
                                history=probes("eu", [False] * 10))
    out = site_transitions(evaluator, probes("eu", [True] * 10, start=110.0))
    # Still down (no second alert); recovers when 8 of 10 in the window are up: t = 117.
    assert [(t.kind.value, t.timestamp, t.start) for t in out] == [("recovery", 117.0, 100.0)]

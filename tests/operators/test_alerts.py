"""The alert state machine in virtual time: exact transition times for known probe sequences."""

from __future__ import annotations

import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from domain.config import AlertPolicy
from domain.events import AlertTransition, Probe, TransitionKind
from operators.alerts import SiteAlertMachine, alert_transitions

on_next, on_completed = ReactiveTest.on_next, ReactiveTest.on_completed
SITE = "http://site.test/"


def probe(at: float, up: bool, host: str = SITE) -> Probe:
    return Probe(at, host, up, 200 if up else 500, 1.0)


def run(ups: list[bool], policy: AlertPolicy, interval: int = 2) -> list[tuple[float, AlertTransition]]:
    """Feed one probe per `interval` virtual seconds from t=210 (after the subscription at 200)
    and collect (time, transition) as emitted."""
    scheduler = TestScheduler()
    messages = [on_next(210 + i * interval, probe(210 + i * interval, up)) for i, up in enumerate(ups)]
    source = scheduler.create_hot_observable(*messages, on_completed(210 + len(ups) * interval))
    result = scheduler.start(lambda: source.pipe(alert_transitions(reactivex.just(policy))), disposed=100_000)
    return [(m.time, m.value.value) for m in result.messages if m.value.kind == "N"]


def test_seed_sequence_alerts_at_first_failure_recovers_at_exactly_80_percent_and_realerts() -> None:
    ups = [True] * 2 + [False] * 2 + [True] * 6 + [False] * 2
    transitions = run(ups, AlertPolicy(window=120))
    assert [(t, tr.kind, round(tr.availability, 4)) for t, tr in transitions] == [
        (214, TransitionKind.ALERT, round(2 / 3, 4)),      # 2 up, 1 down
        (228, TransitionKind.RECOVERY, 0.8),               # 8 of 10
        (230, TransitionKind.ALERT, round(8 / 11, 4)),     # 8 of 11
    ]
    recovery = transitions[1][1]
    assert (recovery.start, recovery.end) == (214, 228)


def test_exactly_the_threshold_is_not_an_alert() -> None:
    # 4 up then 1 down: 4/5 = 80 % exactly.
    assert run([True] * 4 + [False], AlertPolicy(window=120)) == []


def test_failures_leave_the_window_and_the_site_recovers_by_time_alone() -> None:
    # 10 s window at 2 s: 5 probes per window. Down for 4 probes, then up.
    transitions = run([False] * 4 + [True] * 6, AlertPolicy(window=10))
    assert [(t, tr.kind) for t, tr in transitions] == [(210, TransitionKind.ALERT), (224, TransitionKind.RECOVERY)]


def test_min_checks_holds_the_alert_until_the_window_has_enough_checks() -> None:
    transitions = run([False, False, False], AlertPolicy(window=120, min_checks=3))
    assert [(t, tr.kind) for t, tr in transitions] == [(214, TransitionKind.ALERT)]


def test_restored_alert_is_not_repeated_and_its_recovery_is_emitted() -> None:
    restored = AlertTransition(0.0, SITE, TransitionKind.ALERT, 0.5, start=0.0)
    machine = SiteAlertMachine(SITE, AlertPolicy(), restored)
    assert machine.on_probe(probe(5, False), AlertPolicy()) is None
    recovery = machine.on_probe(probe(7, True), AlertPolicy(window=1))
    assert recovery is not None and recovery.kind is TransitionKind.RECOVERY and recovery.start == 0.0

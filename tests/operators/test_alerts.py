"""The alert state machine in virtual time: exact transition times for known probe sequences."""

from __future__ import annotations

import reactivex
from reactivex.testing import ReactiveTest, TestScheduler

from monitoringapp.domain.config import AlertPolicy, SitePolicies
from monitoringapp.domain.events import AlertTransition, ErrorKind, Probe, TransitionKind
from monitoringapp.operators.alert_machine import AlertStates, SiteAlertMachine
from monitoringapp.operators.alerts import alert_transitions

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


def test_one_check_below_the_threshold_alerts_and_one_at_it_does_not() -> None:
    # 4 of 5 up is 80 %: nothing; the next failure makes 4 of 6.
    transitions = run([True] * 4 + [False] + [False], AlertPolicy(window=120))
    assert [(t, tr.kind, tr.availability) for t, tr in transitions] == [(220, TransitionKind.ALERT, 4 / 6)]


def test_hysteresis_waits_for_the_recovery_threshold() -> None:
    ups = [True] * 3 + [False] + [True] * 6  # after the alert: 4/5, 5/6, ..., 9/10
    plain = run(ups, AlertPolicy(window=120, threshold=0.8, recovery_threshold=0.8))
    sticky = run(ups, AlertPolicy(window=120, threshold=0.8, recovery_threshold=0.9))
    assert [(t, tr.kind, tr.availability) for t, tr in plain] == [
        (216, TransitionKind.ALERT, 0.75), (218, TransitionKind.RECOVERY, 0.8)]
    assert [(t, tr.kind, tr.availability) for t, tr in sticky] == [
        (216, TransitionKind.ALERT, 0.75), (228, TransitionKind.RECOVERY, 0.9)]
    assert (sticky[1][1].start, sticky[1][1].end) == (216, 228)


def test_a_new_policy_applies_from_the_next_probe() -> None:
    scheduler = TestScheduler()
    policies = scheduler.create_hot_observable(
        on_next(201, AlertPolicy(window=120, threshold=0.5)),
        on_next(213, AlertPolicy(window=120, threshold=0.8)),
    )
    probes = scheduler.create_hot_observable(
        on_next(210, probe(210, True)),
        on_next(212, probe(212, False)),  # 1/2 is not below 0.5
        on_next(214, probe(214, True)),   # 2/3 is below 0.8, now in force
    )
    result = scheduler.start(lambda: probes.pipe(alert_transitions(policies)))
    assert result.messages == [
        on_next(214, AlertTransition(214, SITE, TransitionKind.ALERT, 2 / 3, start=214)),
    ]


def test_a_shorter_window_from_a_new_policy_forgets_older_checks_at_the_next_probe() -> None:
    scheduler = TestScheduler()
    policies = scheduler.create_hot_observable(
        on_next(201, AlertPolicy(window=120)),
        on_next(215, AlertPolicy(window=5)),
    )
    probes = scheduler.create_hot_observable(
        on_next(210, probe(210, False)),
        on_next(212, probe(212, True)),
        on_next(214, probe(214, True)),  # 2/3 over 120 s: still down
        on_next(216, probe(216, True)),  # over 5 s: 212, 214, 216 all up
    )
    result = scheduler.start(lambda: probes.pipe(alert_transitions(policies)))
    assert result.messages == [
        on_next(210, AlertTransition(210, SITE, TransitionKind.ALERT, 0.0, start=210, detail="status 500")),
        on_next(216, AlertTransition(216, SITE, TransitionKind.RECOVERY, 1.0, start=210, end=216)),
    ]


def test_probes_before_the_first_policy_are_not_judged() -> None:
    scheduler = TestScheduler()
    policies = scheduler.create_hot_observable(on_next(211, AlertPolicy(window=120)))
    probes = scheduler.create_hot_observable(on_next(210, probe(210, False)), on_next(212, probe(212, True)))
    result = scheduler.start(lambda: probes.pipe(alert_transitions(policies)))
    assert result.messages == []


def test_restart_from_history_and_a_stored_alert_recovers_without_repeating_the_alert() -> None:
    history = (probe(180, False), probe(190, False))
    restored = {SITE: AlertTransition(190, SITE, TransitionKind.ALERT, 0.0, start=190)}
    policy = AlertPolicy(window=30)
    scheduler = TestScheduler()
    probes = scheduler.create_hot_observable(*(on_next(t, probe(t, True)) for t in (210, 212, 214, 216)))
    result = scheduler.start(lambda: probes.pipe(alert_transitions(reactivex.just(policy), restored, history)))
    # (186, 216]: 190 down, 4 up = 80 %.
    assert result.messages == [
        on_next(216, AlertTransition(216, SITE, TransitionKind.RECOVERY, 0.8, start=190, end=216)),
    ]


def test_restart_from_history_without_a_stored_alert_raises_it_at_the_first_live_probe() -> None:
    history = (probe(180, False), probe(190, False))
    scheduler = TestScheduler()
    probes = scheduler.create_hot_observable(*(on_next(t, probe(t, True)) for t in (210, 212, 214, 216)))
    result = scheduler.start(lambda: probes.pipe(alert_transitions(reactivex.just(AlertPolicy(window=30)),
                                                                   None, history)))
    assert [(m.time, m.value.value.kind, m.value.value.start) for m in result.messages] == [
        (210, TransitionKind.ALERT, 210), (216, TransitionKind.RECOVERY, 210)]


def test_a_stored_recovery_leaves_the_site_up() -> None:
    restored = AlertTransition(100, SITE, TransitionKind.RECOVERY, 0.9, start=50, end=100)
    machine = SiteAlertMachine(SITE, AlertPolicy(), restored)
    assert not machine.alerting
    assert machine.on_probe(probe(110, True), AlertPolicy()) is None


def test_sites_are_judged_independently() -> None:
    other = "http://other.test/"
    scheduler = TestScheduler()
    probes = scheduler.create_hot_observable(
        on_next(210, probe(210, True)), on_next(211, probe(211, False, other)),
        on_next(212, probe(212, True)), on_next(213, probe(213, True, other)),
    )
    result = scheduler.start(lambda: probes.pipe(alert_transitions(reactivex.just(AlertPolicy()))))
    assert result.messages == [on_next(211, AlertTransition(211, other, TransitionKind.ALERT, 0.0, start=211,
                                                               detail="status 500"))]


def test_each_site_is_judged_by_its_own_policy_and_a_new_version_applies_from_the_next_probe() -> None:
    # Two sites fail alike (up, up, down, down, ...): the shop alerts at its first failure (threshold 0.8), the
    # noisy site, with a 0.4 threshold of its own, only once half its window has failed.
    noisy = "http://noisy.test/"
    scheduler = TestScheduler()
    ups = [True, True, False, False, False, True]
    messages = [on_next(210 + i * 2, probe(210 + i * 2, up, host)) for i, up in enumerate(ups)
                for host in (SITE, noisy)]
    source = scheduler.create_hot_observable(*messages)
    lenient = SitePolicies(AlertPolicy(window=120), {noisy: AlertPolicy(window=120, threshold=0.4)})
    policies = scheduler.create_hot_observable(on_next(205, lenient), on_next(219, SitePolicies(AlertPolicy(120))))
    result = scheduler.start(lambda: source.pipe(alert_transitions(policies)), disposed=1000)
    assert [(m.time, m.value.value.host, m.value.value.kind) for m in result.messages] == [
        (214, SITE, TransitionKind.ALERT),      # 2 of 3 up
        (220, noisy, TransitionKind.ALERT),     # 3 of 6 up, under the top level's 0.8 in force from 219; under
    ]                                           # its own 0.4 before, 2 of 5 at 218 was not below


def test_an_alert_says_why_the_probe_that_raised_it_was_down() -> None:
    machine = SiteAlertMachine(SITE, AlertPolicy())
    failed = Probe(1.0, SITE, False, 200, 3.0, ErrorKind.CONDITION, detail='$.status is "error", expected "ok"')
    alert = machine.on_probe(failed, AlertPolicy())
    assert alert is not None and alert.detail == '$.status is "error", expected "ok"'


def test_alert_states_given_later_resume_a_site_not_judged_yet_and_leave_a_running_machine_alone() -> None:
    # A reload adds OTHER (its alert is the log's last word on it) and brings SITE back; SITE's machine, which
    # judged it until then, knows more than the log had stored.
    other = "http://other.test/"
    stored = {host: AlertTransition(100, host, TransitionKind.ALERT, 0.0, start=100) for host in (SITE, other)}
    scheduler = TestScheduler()
    probes = scheduler.create_hot_observable(on_next(210, probe(210, True)), on_next(230, probe(230, True)),
                                             on_next(231, probe(231, True, other)))
    inputs = scheduler.create_hot_observable(on_next(201, AlertPolicy(window=30)), on_next(220, AlertStates(stored)))
    result = scheduler.start(lambda: probes.pipe(alert_transitions(inputs)))
    assert result.messages == [
        on_next(231, AlertTransition(231, other, TransitionKind.RECOVERY, 1.0, start=100, end=231))]


def test_alert_states_probes_warm_a_site_not_judged_yet_and_a_second_read_of_it_is_not_counted_twice() -> None:
    # OTHER comes back at 231 in alert, its failures before it read back twice (a reload adds it, another removes
    # and adds it again before its first probe). Warmed with the failures at 217-220 once, it recovers at 246,
    # when 16 successes (231-246) are 80 % of the window (216, 246]; counted twice, they would hold it back.
    other = "http://other.test/"
    stored = {other: AlertTransition(100, other, TransitionKind.ALERT, 0.0, start=100)}
    first = tuple(probe(t, False, other) for t in range(201, 221))
    again = tuple(probe(t, False, other) for t in range(211, 221))
    scheduler = TestScheduler()
    probes = scheduler.create_hot_observable(*(on_next(t, probe(t, True, other)) for t in range(231, 260)))
    inputs = scheduler.create_hot_observable(
        on_next(201, AlertPolicy(window=30)),
        on_next(220, AlertStates(stored, first)),
        on_next(225, AlertStates(stored, again)))
    result = scheduler.start(lambda: probes.pipe(alert_transitions(inputs)))
    assert result.messages == [
        on_next(246, AlertTransition(246, other, TransitionKind.RECOVERY, 16 / 20, start=100, end=246))]


def test_a_batch_is_judged_as_its_probes_one_at_a_time_and_its_transitions_go_out_with_it() -> None:
    ups = [True] * 3 + [False] * 3 + [True] * 12 + [False, True] * 4
    sites = (SITE, "http://other.test/")
    probes = [probe(210 + i, up if host == SITE else not up, host) for i, up in enumerate(ups) for host in sites]
    one_at_a_time: list[AlertTransition] = []
    reactivex.from_iterable(probes).pipe(alert_transitions(reactivex.just(AlertPolicy(window=10)))).subscribe(
        one_at_a_time.append)
    scheduler = TestScheduler()
    sizes = (1, 5, 2, 13, 7, 4, 20)  # batches of uneven sizes, one per virtual second from 300
    batches, start = [], 0
    for size in sizes:
        batches.append(tuple(probes[start:start + size]))
        start += size
    assert start == len(probes)
    source = scheduler.create_hot_observable(*(on_next(300 + i, batch) for i, batch in enumerate(batches)))
    result = scheduler.start(lambda: source.pipe(alert_transitions(reactivex.just(AlertPolicy(window=10)))))
    assert [m.value.value for m in result.messages] == one_at_a_time
    assert [(t.kind, t.host, t.timestamp) for t in one_at_a_time] == [
        (TransitionKind.ALERT, "http://other.test/", 210),  # down from its first probe
        (TransitionKind.ALERT, SITE, 213),  # 3 of 4
        (TransitionKind.RECOVERY, SITE, 223),  # 8 of 10 over (213, 223]
        (TransitionKind.ALERT, SITE, 232)]  # 7 of 10 over (222, 232]
    # Each goes out with the batch its probe came in: probes 1, 6, 26 and 44 are in the batches at 301 .. 306.
    assert [m.time for m in result.messages] == [301, 302, 304, 306]


def test_after_the_wall_clock_is_stepped_back_an_hour_an_outage_is_told_at_its_third_failure_as_before_it() -> None:
    # 1-s checks, a 10 s window: 30 successes, the clock stepped back an hour, 60 successes, then failures. The
    # probes after the step are an hour before those held: taken as the latest, they all stayed in the window (70
    # successes), and the alert came at the 18th failure, stamped an hour ahead of its probe.
    policy = AlertPolicy(window=10)
    machine = SiteAlertMachine(SITE, policy)
    stepped = 100_030 - 3600
    times = [100_000.0 + n for n in range(30)] + [stepped + n for n in range(90)]
    ups = [True] * 90 + [False] * 30
    transitions = [t for at, up in zip(times, ups, strict=True)
                   if (t := machine.on_probe(Probe(at, SITE, up, 200 if up else 503, 1.0, None), policy))]
    assert transitions == [AlertTransition(stepped + 62, SITE, TransitionKind.ALERT, 0.7, start=stepped + 62,
                                           detail="status 503")]

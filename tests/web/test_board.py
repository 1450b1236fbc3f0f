"""The board's list of sites replaced by a reloaded config (`StatusBoard.reshape`): kept sites keep their past and
take their new settings, removed ones leave, added ones start empty and take the past they are seeded with. And a
site's state after a step back of the wall clock."""

from __future__ import annotations

from monitoringapp.domain.events import AlertTransition, LastOutcomes, Probe, TransitionKind
from monitoringapp.domain.sites import site_id
from monitoringapp.operators.rollup import DAY, Rollup
from monitoringapp.web.board import SiteListChange, SiteSpec, State, StatusBoard
from monitoringapp.web.render import since_text

A, B, C = "http://a.test/", "http://b.test/", "http://c.test/"
NOW = 1_796_040_000.0 + 3600  # 2026-11-30T13:00:00Z


def seeded(*specs: SiteSpec) -> StatusBoard:
    board = StatusBoard(specs)
    board.seed([], [], [], [])
    return board


def test_a_kept_site_keeps_its_past_and_takes_its_new_interval_and_an_added_one_starts_with_no_data() -> None:
    board = seeded(SiteSpec(A, 10.0), SiteSpec(B, 10.0))
    board.add_probes([Probe(NOW - 100, A, True, 200, 1.0), Probe(NOW - 100, B, True, 200, 1.0)])
    assert board.status(site_id(A), NOW).state is State.NO_DATA  # type: ignore[union-attr]  # 100 s > 60 s

    change = board.reshape([SiteSpec(C, 10.0), SiteSpec(A, 60.0)])

    assert change == SiteListChange(added=(C,), removed=(site_id(B),), relisted=True)
    assert [(s.url, s.state, s.order) for s in board.statuses(NOW)] == [
        (C, State.NO_DATA, 0), (A, State.UP, 1)], "A within 3 of its new intervals (180 s): up again"
    a = board.status(site_id(A), NOW)
    assert a is not None and a.latest == Probe(NOW - 100, A, True, 200, 1.0)
    assert board.days(site_id(A), NOW, count=1)[0].checks == 1, "its past kept"
    assert board.status(site_id(B), NOW) is None and board.site_by_id(site_id(B)) is None
    assert list(board.shown_sites()) == [C, A]
    assert [m.url for m in board.metrics(NOW)] == [C, A], "/metrics follows the list"
    board.add_probes([Probe(NOW, B, False, 503, 1.0)])
    assert board.status(site_id(B), NOW) is None, "a removed site's probes are not counted"


def test_an_added_site_takes_the_past_it_is_seeded_with_and_then_its_probes() -> None:
    board = seeded(SiteSpec(A, 10.0))
    change = board.reshape([SiteSpec(A, 10.0), SiteSpec(B, 10.0)])
    assert change == SiteListChange(added=(B,), removed=(), relisted=True)
    day = NOW - NOW % DAY
    board.seed([Rollup(B, day - DAY, DAY, checks=10, available=4), Rollup(B, day, DAY, checks=2, available=0)],
               [], [Probe(NOW - 20, B, False, 503, 1.0), Probe(NOW - 10, B, False, 503, 1.0)],
               [AlertTransition(NOW - DAY, B, TransitionKind.RECOVERY, 0.9, start=NOW - DAY - 600, end=NOW - DAY)],
               [LastOutcomes(B, last_success=NOW - 4000, last_failure=NOW - 3700, failing_since=NOW - 3700)])
    b = board.status(site_id(B), NOW)
    assert b is not None and (b.state, b.since) == (State.DOWN, NOW - 3700), "down since its run began"
    assert [(d.checks, d.available, d.outages) for d in board.days(site_id(B), NOW, count=2)] == [
        (10, 4, ((NOW - DAY - 600, NOW - DAY),)), (2, 0, ())]
    board.add_probes([Probe(NOW + 10, B, True, 200, 1.0)])
    assert board.days(site_id(B), NOW + 10, count=1)[0].checks == 3


def test_a_new_interval_alone_changes_no_row_a_page_drew_and_a_new_url_or_order_does() -> None:
    board = seeded(SiteSpec("shop", 10.0, "shop", A), SiteSpec(B, 10.0))
    assert board.reshape([SiteSpec("shop", 30.0, "shop", A), SiteSpec(B, 10.0)]) == SiteListChange()
    assert board.status("shop", NOW).url == A  # type: ignore[union-attr]
    assert board.reshape([SiteSpec("shop", 30.0, "shop", C), SiteSpec(B, 10.0)]) == SiteListChange(relisted=True)
    assert board.status("shop", NOW).url == C  # type: ignore[union-attr]
    assert board.reshape([SiteSpec(B, 10.0), SiteSpec("shop", 30.0, "shop", C)]) == SiteListChange(relisted=True)
    assert [s.order for s in board.statuses(NOW)] == [0, 1] and board.statuses(NOW)[0].url == B


def test_a_site_removed_and_added_back_has_a_history_version_it_never_had() -> None:
    board = seeded(SiteSpec(A, 10.0), SiteSpec(B, 10.0))
    board.add_transitions([AlertTransition(NOW - 30, A, TransitionKind.ALERT, 0.5, start=NOW - 30)])
    versions = {board.status(site_id(A), NOW).history}  # type: ignore[union-attr]
    board.reshape([SiteSpec(B, 10.0)])
    board.reshape([SiteSpec(B, 10.0), SiteSpec(A, 10.0)])
    again = board.status(site_id(A), NOW)
    assert again is not None and again.history not in versions and again.state is State.NO_DATA
    assert board.days(site_id(A), NOW)[-1].outages == (), "its former self's outage is not kept"


def test_a_site_last_probed_before_the_seeded_hour_shows_no_data_since_that_probe_not_never_probed() -> None:
    # `-w` started two hours after the monitor stopped: the hour it seeds holds no probe of the sites.
    board = StatusBoard([SiteSpec(A, 10.0), SiteSpec(B, 10.0), SiteSpec(C, 10.0)])
    board.seed([], [], [], [], [LastOutcomes(A, last_success=NOW - 7200, last_failure=NOW - 9000),
                                LastOutcomes(B, last_success=NOW - 9000, last_failure=NOW - 7300,
                                             failing_since=NOW - 7400)])
    a, b, c = (board.status(site_id(host), NOW) for host in (A, B, C))
    assert a is not None and (a.state, a.since, a.latest) == (State.NO_DATA, NOW - 7200, None)
    assert b is not None and (b.state, b.since) == (State.NO_DATA, NOW - 7300)
    assert c is not None and (c.state, c.since) == (State.NO_DATA, None), "C has never been probed"
    assert since_text(a, NOW) == "last probe 2026-11-30 11:00 UTC (2h00m ago)"
    board.add_probes([Probe(NOW + 1, A, True, 200, 1.0)])
    a = board.status(site_id(A), NOW + 1)
    assert a is not None and (a.state, a.since) == (State.UP, None)


def test_without_a_config_a_site_is_up_between_its_probes_as_far_apart_as_it_is_checked() -> None:
    # With no config to give its interval, a site checked every 5 minutes showed "No data" 60 s after each probe:
    # 4 minutes of every 5 (and "1 of 1 sites has no data" above it). Its probes' spacing tells its interval.
    board = StatusBoard()
    board.seed([], [], [Probe(NOW - 3600 + n * 300, A, True, 200, 1.0) for n in range(12)], [])
    latest = NOW - 300
    assert board.status(site_id(A), latest + 240).state is State.UP  # type: ignore[union-attr]
    assert board.status(site_id(A), latest + 901).state is State.NO_DATA  # type: ignore[union-attr]  # 3 intervals
    # A monitor stopped for an hour: one long gap, and the next stop is still told 3 intervals (15 min) after it.
    board.add_probes([Probe(latest + 3600, A, True, 200, 1.0)])
    assert board.status(site_id(A), latest + 3600 + 901).state is State.NO_DATA  # type: ignore[union-attr]
    # Checked every 10 s since (a faster config): no data after 60 s, the least, not 3 of its old intervals.
    board.add_probes([Probe(latest + 3600 + 10 * n, A, True, 200, 1.0) for n in range(1, 4)])
    assert board.status(site_id(A), latest + 3630 + 61).state is State.NO_DATA  # type: ignore[union-attr]
    # A site whose interval the config gives keeps to it.
    configured = seeded(SiteSpec(B, 10.0))
    configured.add_probes([Probe(NOW - 3600 + n * 300, B, True, 200, 1.0) for n in range(12)])
    assert configured.status(site_id(B), latest + 240).state is State.NO_DATA  # type: ignore[union-attr]


def test_after_a_step_back_of_the_clock_a_site_shows_its_new_probes_and_alerts_not_those_from_before_the_step() -> None:
    # Up until NOW, then the clock stepped back an hour: the site fails, and the monitor alerts, stamped an hour
    # before the probes and the recovery the board holds.
    board = seeded(SiteSpec(A, 10.0))
    board.add_transitions([AlertTransition(NOW - 900, A, TransitionKind.RECOVERY, 0.9, start=NOW - 1000,
                                           end=NOW - 900)])
    board.add_probes([Probe(NOW - 10 * n, A, True, 200, 1.0) for n in range(12, -1, -1)])
    back = NOW - 3600
    board.add_probes([Probe(back + 10 * n, A, False, 503, 1.0) for n in range(1, 4)])
    a = board.status(site_id(A), back + 30)
    assert a is not None and (a.state, a.since, a.latest) == (State.DOWN, back + 10, Probe(back + 30, A, False, 503,
                                                                                             1.0))
    (metrics,) = board.metrics(back + 30)
    # The 2-minute window moved back with the step (the probe at NOW to back + 10, where the first failure is):
    # 10 of the probes from before it are within 2 minutes of back + 30, with the 3 failures.
    assert dict(metrics.availability)["2m"] == 10 / 13
    board.add_transitions([AlertTransition(back + 30, A, TransitionKind.ALERT, 0.23, start=back + 10)])
    a = board.status(site_id(A), back + 30)
    assert a is not None and (a.state, a.since) == (State.ALERTING, back + 10)


def test_a_late_probe_of_another_location_leaves_the_sites_state_as_its_latest_probe_says() -> None:
    # Probed from eu and us; us's spool, emptied late, brings a failure from five minutes before.
    board = seeded(SiteSpec(A, 10.0))
    board.add_probes([Probe(NOW - 10, A, True, 200, 1.0, location="eu"), Probe(NOW, A, True, 200, 1.0, location="us")])
    board.add_probes([Probe(NOW - 300, A, False, 503, 1.0, location="eu")])
    a = board.status(site_id(A), NOW)
    assert a is not None and (a.state, a.latest) == (State.UP, Probe(NOW, A, True, 200, 1.0, location="us"))


def test_a_site_whose_last_probe_is_further_ahead_of_the_clock_than_its_limit_shows_no_data() -> None:
    # Probed until the clock was stepped back an hour, and not since: no data, as `--health` says, not up for the
    # hour until the clock has caught up with it.
    board = seeded(SiteSpec(A, 10.0))
    board.add_probes([Probe(NOW, A, True, 200, 1.0)])
    assert [(s.state, s.since) for s in board.statuses(NOW - 3600)] == [(State.NO_DATA, NOW)]
    assert [s.state for s in board.statuses(NOW - 59)] == [State.UP]  # within its limit (60 s): a clock ahead

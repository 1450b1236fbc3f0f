"""Every test-mode scenario, run for real: flask hit over HTTP, the monitoring graph in virtual time."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.testmode.runner import VIRTUAL_START, run_scenario
from monitoringapp.testmode.scenarios import SCENARIOS, Scenario
from monitoringapp.testmode.server import ScenarioServer


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_transitions_happen_exactly_when_expected(
        scenario: Scenario, server: ScenarioServer, tmp_path: Path) -> None:
    outcome = run_scenario(scenario, server, tmp_path / "test.db")
    assert outcome.problems == ()
    assert [(o.kind, o.at, o.site) for o in outcome.observed] == [
        (e.kind.value, e.at, e.site) for e in scenario.expected]
    # Every site was probed on every tick of its interval, each probe one request to the server;
    # a restarted monitor's clocks start over at the restart.
    starts = [0.0] if scenario.restart_at is None else [0.0, scenario.restart_at]
    ends = [*starts[1:], scenario.duration]
    assert outcome.requests == sum(int((end - start) // site.interval) + 1
                                   for start, end in zip(starts, ends, strict=True)
                                   for site in scenario.sites.values())


def test_virtual_time_adds_up_to_at_least_an_hour() -> None:
    assert sum(s.duration for s in SCENARIOS) >= 3600


def test_the_recovery_after_a_restart_closes_the_outage_the_first_monitor_opened(
        server: ScenarioServer, tmp_path: Path) -> None:
    scenario = next(s for s in SCENARIOS if s.restart_at is not None)
    alerted, recovered = (VIRTUAL_START.timestamp() + e.at for e in scenario.expected)
    assert alerted < scenario.restart_at + VIRTUAL_START.timestamp() < recovered
    assert run_scenario(scenario, server, tmp_path / "test.db").passed
    with sqlite3.connect(tmp_path / "test.db") as connection:
        rows = connection.execute("SELECT type, timestamp, startDate, endDate FROM website_alerts ORDER BY rowid")
        assert rows.fetchall() == [
            ("alert", iso_utc(alerted), iso_utc(alerted), None),
            ("recovery", iso_utc(recovered), iso_utc(alerted), iso_utc(recovered)),
        ]

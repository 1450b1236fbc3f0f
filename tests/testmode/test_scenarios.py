"""Every test-mode scenario, run for real: flask hit over HTTP, the monitoring graph in virtual time."""

from __future__ import annotations

from pathlib import Path

import pytest

from testmode.runner import run_scenario
from testmode.scenarios import SCENARIOS, Scenario
from testmode.server import ScenarioServer


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

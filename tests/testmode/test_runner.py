"""The checker can fail: wrong expectations and wrong stored error kinds are reported, with the table."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from monitoringapp.testmode.runner import run_scenario, run_scenarios
from monitoringapp.testmode.scenarios import SCENARIOS, Scenario, alert, recovery
from monitoringapp.testmode.server import ScenarioServer

SEED = next(s for s in SCENARIOS if s.name.startswith("2 "))
TIMEOUTS = next(s for s in SCENARIOS if s.name.startswith("6 "))


def test_a_transition_two_seconds_off_fails_and_says_what_was_observed(
        server: ScenarioServer, tmp_path: Path) -> None:
    wrong = replace(SEED, expected=(alert(4), recovery(20), alert(20)))
    outcome = run_scenario(wrong, server, tmp_path / "test.db")
    assert not outcome.passed
    assert outcome.problems == (
        "expected alert@+4s, recovery@+20s, alert@+20s; observed alert@+4s 66.7%, recovery@+18s 80.0%, "
        "alert@+20s 72.7%",)


def test_a_wrong_availability_or_a_missing_transition_fails(server: ScenarioServer, tmp_path: Path) -> None:
    wrong_availability = replace(SEED, name="2 wrong availability",
                                 expected=(alert(4, availability=0.5), *SEED.expected[1:]))
    missing = replace(SEED, name="2 missing", expected=SEED.expected[:2])
    assert not run_scenario(wrong_availability, server, tmp_path / "test.db").passed
    assert not run_scenario(missing, server, tmp_path / "test.db").passed


def test_stored_error_kinds_are_checked_from_the_database(server: ScenarioServer, tmp_path: Path) -> None:
    wrong = replace(TIMEOUTS, stored_errors={"site": {"timeout": 3, "connection": 2}})
    outcome = run_scenario(wrong, server, tmp_path / "test.db")
    assert outcome.problems == (
        "site: stored error kinds {'timeout': 2, 'connection': 3}, expected {'timeout': 3, 'connection': 2}",)


def test_the_table_shows_each_scenario_with_its_requests_and_verdict(tmp_path: Path) -> None:
    out = io.StringIO()
    scenarios: list[Scenario] = [SEED, replace(SEED, name="2 off by two", expected=(alert(6),))]
    outcomes = run_scenarios(scenarios, tmp_path / "test.db", out)
    lines = out.getvalue().splitlines()
    assert [o.passed for o in outcomes] == [True, False]
    assert lines[0].split() == ["scenario", "requests", "virtual", "wall", "ms", "expected", "observed", "result"]
    assert lines[1].startswith("2 seed sequence") and " 12 " in lines[1] and lines[1].endswith("PASS")
    assert lines[4].startswith("2 off by two") and lines[4].endswith("FAIL")
    assert lines[-2].startswith("FAIL 2 off by two: expected alert@+6s;")
    assert lines[-1].startswith("1/2 scenarios passed: 24 requests, 44s virtual in ")

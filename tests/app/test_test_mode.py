"""`-t` end to end: the real entry point, the exit status, the table and what becomes of test.db."""

from __future__ import annotations

import argparse
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bench.processes import run_app
from monitoringapp.app.cli import main
from monitoringapp.app.test_mode import run_test_mode
from monitoringapp.testmode.scenarios import SCENARIOS, alert

SEED = next(s for s in SCENARIOS if s.name.startswith("2 "))


def args(keep_db: bool = False) -> argparse.Namespace:
    return argparse.Namespace(keep_db=keep_db, database="monitoring.db")


@pytest.mark.slow
def test_dash_t_passes_every_scenario_prints_the_table_and_removes_test_db(tmp_path: Path) -> None:
    done = run_app("-t", timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("scenario ")
    verdicts = [line.split()[-1] for line in lines[1:-1] if line[:1].isdigit()]
    assert verdicts == ["PASS"] * len(SCENARIOS)
    assert lines[-1].startswith(f"{len(SCENARIOS)}/{len(SCENARIOS)} scenarios passed")
    assert done.stderr == ""
    assert not list(tmp_path.iterdir())  # test.db and its journal files gone


def test_a_wrong_expectation_makes_test_mode_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    wrong = replace(SEED, expected=(alert(4), alert(20)))
    assert run_test_mode(args(), [SCENARIOS[-1], wrong]) == 1
    out = capsys.readouterr().out
    assert "FAIL 2 seed sequence: expected alert@+4s, alert@+20s; observed alert@+4s 66.7%, recovery@+18s" in out
    assert out.splitlines()[-1].startswith("1/2 scenarios passed")
    assert not (tmp_path / "test.db").exists()


def test_keep_db_keeps_a_fresh_test_db_with_the_scenarios_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test.db").write_bytes(b"left over, not a database")
    assert run_test_mode(args(keep_db=True), [SEED]) == 0
    assert f"kept {tmp_path / 'test.db'}" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "test.db") as connection:
        kinds = [row[0] for row in connection.execute("SELECT type FROM website_alerts ORDER BY rowid")]
        probes = connection.execute("SELECT count(*) FROM website_monitoring").fetchone()[0]
    assert (kinds, probes) == (["alert", "recovery", "alert"], 12)


def test_dash_t_refuses_to_use_test_db_as_the_monitoring_database(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["-t", "-db", "test.db"]) == 2
    assert capsys.readouterr().err.startswith("monitoringApp: error: -t writes test.db")

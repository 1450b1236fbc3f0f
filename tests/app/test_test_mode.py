"""`-t` end to end: the real entry point, the exit status, the table, and the files it must never touch."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from bench.processes import App, run_app, unprivileged_prefix, wait_until
from monitoringapp.app.cli import main
from monitoringapp.app.options import ScenarioOptions
from monitoringapp.app.test_mode import run_test_mode
from monitoringapp.testmode.scenarios import SCENARIOS, alert

SEED = next(s for s in SCENARIOS if s.name.startswith("2 "))
USERS_TEST_DB = b"SQLite format 3\x00 -- no: a user's own file that happens to be called test.db"


@pytest.mark.slow
def test_dash_t_passes_every_scenario_prints_the_table_and_leaves_nothing_behind_even_read_only(
        tmp_path: Path) -> None:
    # Run where it may not write (held to file modes, when that can be done here): it writes only to $TMPDIR.
    read_only, scratch = tmp_path / "ro", tmp_path / "tmp"
    read_only.mkdir()
    scratch.mkdir()
    read_only.chmod(0o555)
    try:
        done = run_app("-t", timeout=60, cwd=read_only, env={"TMPDIR": str(scratch)},
                       unprivileged=unprivileged_prefix() is not None)
    finally:
        read_only.chmod(0o755)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("scenario ")
    verdicts = [line.split()[-1] for line in lines[1:-1] if line[:1].isdigit()]
    assert verdicts == ["PASS"] * len(SCENARIOS)
    assert lines[-1].startswith(f"{len(SCENARIOS)}/{len(SCENARIOS)} scenarios passed")
    assert done.stderr == ""
    assert not list(read_only.iterdir()) and not list(scratch.iterdir())


def test_a_wrong_expectation_makes_test_mode_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    wrong = replace(SEED, expected=(alert(4), alert(20)))
    assert run_test_mode(ScenarioOptions(), [SCENARIOS[-1], wrong]) == 1
    out = capsys.readouterr().out
    assert "FAIL 2 seed sequence: expected alert@+4s, alert@+20s; observed alert@+4s 66.7%, recovery@+18s" in out
    assert out.splitlines()[-1].startswith("1/2 scenarios passed")
    assert list(tmp_path.iterdir()) == []


def test_dash_t_never_touches_a_file_or_directory_called_test_db_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test.db").write_bytes(USERS_TEST_DB)
    (tmp_path / "test.db-wal").mkdir()  # `mkdir test.db` was a traceback
    assert run_test_mode(ScenarioOptions(), [SEED]) == 0
    assert (tmp_path / "test.db").read_bytes() == USERS_TEST_DB
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test.db", "test.db-wal"]


def test_keep_db_keeps_the_scenarios_database_at_the_path_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["-t", "--keep-db", "kept/seed.db"]) == 2  # its directory must exist
    assert "kept/seed.db: directory 'kept' does not exist" in capsys.readouterr().err
    (tmp_path / "kept").mkdir()
    assert run_test_mode(ScenarioOptions(keep_db="kept/seed.db"), [SEED]) == 0
    assert f"kept {tmp_path / 'kept' / 'seed.db'}" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["seed.db"]  # one file, no -wal
    with contextlib.closing(sqlite3.connect(tmp_path / "kept" / "seed.db")) as connection:
        kinds = [row[0] for row in connection.execute("SELECT type FROM website_alerts ORDER BY rowid")]
        probes = connection.execute("SELECT count(*) FROM website_monitoring").fetchone()[0]
    assert (kinds, probes) == (["alert", "recovery", "alert"], 12)


def test_keep_db_refuses_a_path_that_exists_and_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "test.db").write_bytes(USERS_TEST_DB)
    assert main(["-t", "--keep-db"]) == 2
    assert capsys.readouterr().err == (
        "monitoringApp: error: --keep-db: test.db already exists; -t keeps its database only in a new file\n")
    assert (tmp_path / "test.db").read_bytes() == USERS_TEST_DB
    assert [p.name for p in tmp_path.iterdir()] == ["test.db"]


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_dash_t_interrupted_exits_130_says_so_and_leaves_nothing_behind(tmp_path: Path, signum: int) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    app = App("-t", cwd=tmp_path, env={"TMPDIR": str(scratch)})
    try:
        # The scenarios have started once their database exists; they take a second or more from there.
        wait_until(lambda: list(scratch.rglob("test.db")), 20, "the scenarios' database", alive=app)
        status, errors = app.stop(signum)
    finally:
        app.kill()
    assert status == 130, app.describe()
    assert errors.startswith("monitoringApp: interrupted: ") and "not a pass" in errors, errors
    assert errors.count("\n") == 1 and "Traceback" not in errors
    assert [p.name for p in tmp_path.iterdir()] == ["tmp"] and not list(scratch.iterdir())


def test_dash_t_ignores_a_proxy_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing there: a probe sent to it fails
    assert run_test_mode(ScenarioOptions(), [SEED]) == 0

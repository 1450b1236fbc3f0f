"""`--health`: the age of the newest stored probe against what the config allows, one line, exit 0 or 1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from monitoringapp.app.cli import main
from monitoringapp.app.health_mode import run_health
from monitoringapp.app.options import HealthOptions
from monitoringapp.domain.events import Probe
from monitoringapp.store.sqlite.writer import SqliteEventLog

A = "http://a.test/"


def database(path: Path, *ages: float, now: float | None = None) -> Path:
    """A database of probes `ages` seconds before `now` (this moment by default)."""
    log = SqliteEventLog(path)
    now = time.time() if now is None else now
    for age in ages:
        log.append_probe(Probe(now - age, A, True, 200, 1.0))
    log.close()
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    # Every 2 s, timeout 2 s: quiet for more than 2 * 2 + 2 + 5 = 11 s is unhealthy.
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"websites": [{"URL": A, "checkInterval": 2}]}))
    return path


def health(*argv: str) -> list[str]:
    return ["--health", *argv]


def test_a_monitor_that_stored_a_probe_lately_is_healthy(tmp_path: Path, config: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    # Checked at the moment the ages count from: checked a second later (a loaded host writing the file), the
    # newest probe was 4s old. A whole second: the log keeps a probe's time to the millisecond, rounded.
    now = float(int(time.time()))
    db = database(tmp_path / "m.db", 60, 3, now=now)  # the newest by append order is 3 s old
    assert run_health(HealthOptions(str(config), str(db)), now=now) == 0
    assert capsys.readouterr().out == f"healthy: the newest probe in {db} is 3s old (at most 11s)\n"
    assert main(health("-c", str(config), "-db", str(db))) == 0  # the command line's, on this host's clock


def test_a_monitor_quiet_for_longer_than_its_intervals_allow_is_unhealthy(tmp_path: Path, config: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    now = float(int(time.time()))  # as above
    db = database(tmp_path / "m.db", 372, now=now)
    assert run_health(HealthOptions(str(config), str(db)), now=now) == 1
    assert capsys.readouterr().out == f"unhealthy: the newest probe in {db} is 6m12s old (at most 11s)\n"
    assert main(health("-c", str(config), "-db", str(db))) == 1
    assert main(health("--max-age", "600", "-db", str(db))) == 0  # no config needed with --max-age


def test_a_newest_probe_further_ahead_of_the_clock_than_the_limit_is_unhealthy_one_within_it_is_0s_old(
        tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Stored while the clock was an hour ahead, then the clock stepped back and the monitor died: "0s old" said a
    # dead monitor was healthy for the hour.
    now = 1_795_000_000.0
    db = database(tmp_path / "m.db", 60, -3600, now=now)
    assert run_health(HealthOptions(str(config), str(db)), now=now) == 1
    assert capsys.readouterr().out == (
        f"unhealthy: the newest probe in {db} is 1h00m ahead of the clock (2026-11-18T12:06:40.000Z): the clock was "
        "stepped back since it was stored, and no probe was stored after it (a monitor stores one within 11s)\n")
    near = database(tmp_path / "near.db", -11, now=now)  # as far ahead as the limit: a clock set a little back
    assert run_health(HealthOptions(str(config), str(near)), now=now) == 0
    assert capsys.readouterr().out == f"healthy: the newest probe in {near} is 0s old (at most 11s)\n"


@pytest.mark.parametrize(("age", "said"), [
    (6.7, "unhealthy: the newest probe in {db} is 6.700s old (at most 6.500s)"),
    (6.25, "healthy: the newest probe in {db} is 6.250s old (at most 6.500s)"),
    (7.0, "unhealthy: the newest probe in {db} is 7s old (at most 6s)"),
])
def test_an_age_and_a_limit_within_one_second_are_told_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             age: float, said: str) -> None:
    # Shown in whole seconds, 6.7 s against 6.5 s read "6s old (at most 6s)", and unhealthy.
    db = tmp_path / "m.db"
    log = SqliteEventLog(db)
    log.append_probe(Probe(1_795_000_000.0, A, True, 200, 1.0))
    log.close()
    status = run_health(HealthOptions("", str(db), max_age=6.5), now=1_795_000_000.0 + age)
    assert (status, capsys.readouterr().out) == (0 if said.startswith("healthy") else 1, said.format(db=db) + "\n")


def test_no_database_no_probe_or_no_config_is_unhealthy_never_2(tmp_path: Path, config: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(health("-c", str(config), "-db", str(tmp_path / "none.db"))) == 1
    assert capsys.readouterr().out.startswith(f"unhealthy: waiting for {tmp_path / 'none.db'} to be created")
    empty = database(tmp_path / "empty.db")
    assert main(health("-c", str(config), "-db", str(empty))) == 1
    assert capsys.readouterr().out == f"unhealthy: no probe stored in {empty} yet\n"
    assert main(health("-c", str(tmp_path / "missing.json"), "-db", str(empty))) == 1
    assert capsys.readouterr().out == f"unhealthy: {tmp_path / 'missing.json'}: config file not found\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "empty.db"]  # nothing left beside them

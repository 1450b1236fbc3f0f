"""`--replay` through the CLI: the transitions in the live format, a line per site and the total, read-only."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from monitoringapp.app.cli import main
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing

SITE = "http://a.test/"
T0 = 1_795_000_000.0  # 2026-11-18T11:06:40Z


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """25 probes a second apart: 10 up, 5 down, 10 up; the monitor (a 120 s window) stored one outage."""
    db = tmp_path / "m.db"
    connection = open_for_writing(db)
    ups = [True] * 10 + [False] * 5 + [True] * 10
    insert_events(connection, [Probe(T0 + i, SITE, up, 200 if up else 503, 1.0) for i, up in enumerate(ups)],
                  [AlertTransition(T0 + 10, SITE, TransitionKind.ALERT, 10 / 11, T0 + 10)])
    connection.close()
    return db


def test_a_candidate_policy_says_what_it_would_have_alerted_beside_what_was_stored(
        database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    candidate = tmp_path / "candidate.json"
    candidate.write_text(json.dumps({"websites": [{"URL": SITE}], "alertWindow": 10}))
    before = database.read_bytes()
    assert main(["--replay", "-c", str(candidate), "-db", str(database)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"replaying the probes of 1 site(s) in {database} through the policies of {candidate}",
        # A 10 s window: 7 of 10 up at +12 s; back to 8 of 10 at +22 s.
        "Website http://a.test/ is down. availability=70.0%, time=2026-11-18T11:06:52.000Z, reason: status 503",
        "Website http://a.test/ recovered. availability=80.0%, time=2026-11-18T11:07:02.000Z, "
        "down since 2026-11-18T11:06:52.000Z (10s)",
        "http://a.test/: 25 probes: 1 alerts, 1 recoveries (stored: 1 alerts, 0 recoveries)",
        "replayed 25 probes of 1 sites: 1 alerts, 1 recoveries (stored: 1 alerts, 0 recoveries)",
    ]
    assert database.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate.json", "m.db"]


def test_since_and_site_narrow_the_replay_and_a_site_not_in_the_config_is_a_usage_error(
        database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    candidate = tmp_path / "candidate.json"
    candidate.write_text(json.dumps({"websites": [{"URL": SITE, "name": "a"}, {"URL": "http://b.test/"}],
                                     "alertWindow": 10}))
    # A named site is keyed by its name, so this log (stored under the URL) holds none of its probes.
    assert main(["--replay", "-c", str(candidate), "-db", str(database), "--site", "a",
                 "--since", "2026-11-18T11:06:55Z"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2:] == [
        "replayed 0 probes of 1 sites: 0 alerts, 0 recoveries (stored: 0 alerts, 0 recoveries)",
        f"note: {database} holds no probe of that site from 2026-11-18T11:06:55.000Z; the sites it holds: "
        "http://a.test/",
    ]
    assert main(["--replay", "-c", str(candidate), "-db", str(database), "--site", "http://c.test/"]) == 2
    assert "--site: http://c.test/ is none of the sites of" in capsys.readouterr().err


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def replay_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, probes: list[Probe]) -> list[str]:
    """`--replay` of SITE over a log of `probes`, stderr a terminal: the frames of its progress bar."""
    db, candidate = tmp_path / "m.db", tmp_path / "candidate.json"
    connection = open_for_writing(db)
    insert_events(connection, probes)
    connection.close()
    candidate.write_text(json.dumps({"websites": [{"URL": SITE}]}))
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["--replay", "-c", str(candidate), "-db", str(db)]) == 0
    return terminal.getvalue().split("\r")


def test_on_a_terminal_a_replay_shows_how_far_it_has_read_the_log_and_clears_the_bar_when_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    frames = replay_on_a_terminal(tmp_path, monkeypatch,
                                  [Probe(T0 + 60 * i, SITE, True, 200, 1.0) for i in range(121)])  # two hours
    assert frames[1].startswith("replaying 1 site(s) [####################] 100%  120 of 120 min of the log")
    assert frames[2:] == [" " * len(frames[1]), ""]  # cleared before the summary
    assert capsys.readouterr().out.splitlines()[-1].startswith("replayed 121 probes of 1 sites")


def test_a_reader_needs_neither_the_probes_secrets_nor_its_ca_file(
        database: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # What only the probe sends or opens: a reader (-p, -w, -a, -e, --replay, --health) in a container of its own
    # was refused for want of the prober's token or CA file ("environment variable API_TOKEN is not set").
    monkeypatch.delenv("MONITORINGAPP_UNSET_PROBE_TOKEN", raising=False)
    candidate = tmp_path / "candidate.json"
    candidate.write_text(json.dumps({"websites": [{
        "URL": SITE, "headers": {"Authorization": "Bearer ${MONITORINGAPP_UNSET_PROBE_TOKEN}"},
        "caFile": str(tmp_path / "only-where-the-prober-runs.pem")}], "alertWindow": 10}))
    assert main(["--replay", "-c", str(candidate), "-db", str(database)]) == 0
    out, err = capsys.readouterr()
    assert (out.splitlines()[-1], err) == (
        "replayed 25 probes of 1 sites: 1 alerts, 1 recoveries (stored: 1 alerts, 0 recoveries)", "")


def test_a_site_the_log_holds_no_probe_of_is_said_not_replayed_as_a_quiet_site(
        database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    candidate = tmp_path / "candidate.json"
    candidate.write_text(json.dumps({"websites": [{"URL": SITE}, {"URL": "http://b.test/"}]}))
    assert main(["--replay", "-c", str(candidate), "-db", str(database)]) == 0
    # A 120 s window: 10 of 13 up at +12 s (alert), 20 of 25 at +24 s (recovery).
    assert capsys.readouterr().out.splitlines()[3:] == [
        "http://a.test/: 25 probes: 1 alerts, 1 recoveries (stored: 1 alerts, 0 recoveries)",
        "http://b.test/: 0 probes: 0 alerts, 0 recoveries (stored: 0 alerts, 0 recoveries)",
        "replayed 25 probes of 2 sites: 1 alerts, 1 recoveries (stored: 1 alerts, 0 recoveries)",
        f"note: {database} holds no probe of http://b.test/",
    ]


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_an_empty_database_file_is_one_line_and_exit_2_on_a_terminal_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], terminal: bool) -> None:
    db, candidate = tmp_path / "m.db", tmp_path / "candidate.json"
    db.touch()
    candidate.write_text(json.dumps({"websites": [{"URL": SITE}]}))
    screen = Terminal()
    if terminal:  # the progress bar reads the log's span first
        monkeypatch.setattr(sys, "stderr", screen)
    assert main(["--replay", "-c", str(candidate), "-db", str(db)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (screen.getvalue() if terminal else captured.err).splitlines() == [
        f"monitoringApp: error: {db}: holds no monitoringApp tables (an empty database): nothing to replay"]
    assert db.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candidate.json", "m.db"]


def test_on_a_terminal_the_bar_spans_the_log_the_replay_reads_from_its_first_row_of_any_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Another site's probes for two hours, this one's only in the second: the replay reads the rows of both hours
    # (in time order, keeping its own), so its bar spans both, found in one query rather than row after row.
    frames = replay_on_a_terminal(tmp_path, monkeypatch, sorted(
        [Probe(T0 + 60 * i, "http://other.test/", True, 200, 1.0) for i in range(121)]
        + [Probe(T0 + 3600 + 60 * i + 30, SITE, True, 200, 1.0) for i in range(60)], key=lambda probe: probe.timestamp))
    assert frames[1].startswith("replaying 1 site(s) [####################] 100%  120 of 120 min of the log")
    assert capsys.readouterr().out.splitlines()[-1] == (
        "replayed 60 probes of 1 sites: 0 alerts, 0 recoveries (stored: 0 alerts, 0 recoveries)")

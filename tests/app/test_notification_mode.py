"""Notification mode (-a) and silent monitoring, as real processes on one database."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from bench.processes import App, run_app
from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing
from tests.app.readers_session import Exited, readers_session

pytestmark = pytest.mark.slow  # real processes

T0 = 1_795_000_000.0
A, B = "http://a.test/", "http://b.test/"


def test_a_silent_monitor_prints_nothing_and_stops_cleanly_on_sigterm() -> None:
    session = readers_session()
    assert [app.lines for app in session.monitors] == [[], []]
    assert session.exits["monitor"] == Exited(0, "")


def test_notification_mode_shows_each_row_within_2s_of_its_commit() -> None:
    session = readers_session()
    kinds = [row.kind for row in session.alert_rows]
    assert kinds == [TransitionKind.ALERT, TransitionKind.RECOVERY]
    for row, committed in zip(session.alert_rows, session.committed_at, strict=True):
        shown = [arrived for arrived, text in session.notify.lines
                 if text.split()[1:3] == [row.host, row.kind.value]]
        assert len(shown) == 1, session.notify.text()
        assert shown[0] - committed < 2.0


def test_both_readers_wait_for_the_database_and_survive_the_monitor_being_killed_and_restarted() -> None:
    session = readers_session()
    for reader in (session.notify, session.printer):
        assert reader.lines[0][1] == f"waiting for {session.db} to be created by a monitor (-m)"
    # The recovery was written by the monitor started after the kill, and -a showed it.
    recovery_seen = session.committed_at[1]
    assert recovery_seen > session.restarted_at
    # -p kept reporting probes the new monitor stored.
    reports_after = [text for arrived, text in session.printer.lines
                     if arrived > session.restarted_at + 2 and text.startswith(session.site)]
    assert len(reports_after) >= 2
    assert session.exits["notify"] == Exited(0, "")
    assert session.exits["printer"] == Exited(0, "")


def _stored(db: Path, *transitions: AlertTransition) -> None:
    connection = open_for_writing(db)
    insert_events(connection, [], transitions)
    connection.close()


def test_history_is_oldest_first_filtered_by_site_and_since_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    down = AlertTransition(T0 + 100, A, TransitionKind.ALERT, 0.5, start=T0 + 100)
    back = AlertTransition(T0 + 250, A, TransitionKind.RECOVERY, 0.8125, start=T0 + 100, end=T0 + 250)
    old = AlertTransition(T0, A, TransitionKind.ALERT, 0.25, start=T0)
    other = AlertTransition(T0 + 120, B, TransitionKind.ALERT, 0.0, start=T0 + 120)
    _stored(db, back, other, old, down)
    app = App("-a", "-db", str(db), "--site", A, "--since", "2026-11-18T11:07:30Z")
    app.wait_for_line(lambda t: t.startswith("-- following"), timeout=10)
    status, stderr = app.stop(signal.SIGINT)
    assert (status, stderr) == (0, "")
    assert app.text().splitlines()[:3] == [
        "time                      host            type      start                     end"
        "                       duration  availability",
        "2026-11-18T11:08:20.000Z  http://a.test/  alert     2026-11-18T11:08:20.000Z  -"
        "                                -         50.0%",
        "2026-11-18T11:10:50.000Z  http://a.test/  recovery  2026-11-18T11:08:20.000Z  2026-11-18T11:10:50.000Z"
        "     2m30s         81.2%",
    ]


def test_a_since_older_than_the_epoch_shows_the_whole_history(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    _stored(db, AlertTransition(T0, A, TransitionKind.ALERT, 0.25, start=T0))
    app = App("-a", "-db", str(db), "--since", "99999999999999999999d")
    app.wait_for_line(lambda t: t.startswith("-- following"), timeout=10)
    status, stderr = app.stop(signal.SIGINT)
    assert (status, stderr) == (0, "")
    assert app.output()[1].startswith("2026-11-18T11:06:40.000Z  http://a.test/  alert")


def test_a_bad_since_is_one_line_and_exit_2_and_creates_no_database(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    result = run_app("-a", "-db", str(db), "--since", "yesterday", timeout=20)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("monitoringApp: error: --since: must be an age such as 2h or an ISO date "
                             "such as 2026-11-24T12:00, got 'yesterday'\n")
    assert not db.exists()


def test_a_file_that_is_not_a_database_is_one_line_and_exit_2_untouched(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("not a database\n" * 300)
    result = run_app("-a", "-db", str(db), timeout=20)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"monitoringApp: error: {db}: cannot use as a monitoringApp database: "
                             "file is not a database\n")
    assert db.read_text() == "not a database\n" * 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]

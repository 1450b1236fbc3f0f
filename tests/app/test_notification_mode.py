"""Notification mode (-a) and silent monitoring, as real processes on one database."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest

from bench.processes import ENTRY, App, exit_after_output_closed, run_app, unprivileged_prefix
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing
from monitoringapp.store.sqlite.writer import SqliteEventLog
from tests.app.readers_session import Exited, readers_session

pytestmark = pytest.mark.slow  # real processes

T0 = 1_795_000_000.0
A, B = "http://a.test/", "http://b.test/"


def test_a_silent_monitor_prints_nothing_and_stops_cleanly_on_sigterm() -> None:
    session = readers_session()
    assert [app.lines for app in session.monitors] == [[], []]
    assert session.exits["monitor"] == Exited(0, "")


def test_notification_mode_shows_each_row_once_as_it_is_committed_before_the_next_one() -> None:
    session = readers_session()
    kinds = [row.kind for row in session.alert_rows]
    assert kinds == [TransitionKind.ALERT, TransitionKind.RECOVERY]
    for row in session.alert_rows:
        shown = [text for text in session.notify.output() if text.split()[1:3] == [row.host, row.kind.value]]
        assert len(shown) == 1, session.notify.text()
    # Followed, not read at the end: the alert was on screen while it was the only row committed.
    assert session.committed_when_shown == [1, 2]


def test_both_readers_wait_for_the_database_and_survive_the_monitor_being_killed_and_restarted() -> None:
    session = readers_session()
    for reader in (session.notify, session.printer):
        assert reader.lines[0][1] == f"waiting for {session.db} to be created by a monitor (-m)"
    # The recovery was written by the monitor started after the kill, and -a showed it.
    assert session.committed_at_restart == 1 and len(session.alert_rows) == 2
    # -p kept reporting probes the new monitor stored.
    reports_after = [text for text in session.printer.output()[session.printer_lines_at_recovery:]
                     if text.startswith(session.site)]
    assert len(reports_after) >= 2
    assert session.exits["notify"] == Exited(0, "")
    assert session.exits["printer"] == Exited(0, "")


def sighup_ignored(pid: int) -> bool:
    """Whether process `pid` has SIGHUP ignored (its bit in the SigIgn mask of /proc/PID/status)."""
    mask = next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                if line.startswith("SigIgn:"))
    return bool(int(mask, 16) >> (signal.SIGHUP - 1) & 1)


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
    assert (status, stderr) == (0, ""), stderr  # the whole of it, should a traceback come
    assert app.text().splitlines()[:3] == [
        "time                      host            type      start                     end"
        "                       duration  availability  detail",
        "2026-11-18T11:08:20.000Z  http://a.test/  alert     2026-11-18T11:08:20.000Z  -"
        "                                -         50.0%  -",
        "2026-11-18T11:10:50.000Z  http://a.test/  recovery  2026-11-18T11:08:20.000Z  2026-11-18T11:10:50.000Z"
        "     2m30s         81.2%  -",
    ]


def test_a_since_older_than_the_epoch_shows_the_whole_history(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    _stored(db, AlertTransition(T0, A, TransitionKind.ALERT, 0.25, start=T0))
    app = App("-a", "-db", str(db), "--since", "99999999999999999999d")
    app.wait_for_line(lambda t: t.startswith("-- following"), timeout=10)
    status, stderr = app.stop(signal.SIGINT)
    assert (status, stderr) == (0, ""), stderr  # the whole of it, should a traceback come
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


# ---- readers on read-only media, and readers whose output goes away --------------------------------------


@pytest.mark.skipif(unprivileged_prefix() is None, reason="root without setpriv cannot be held to file modes")
def test_readers_need_no_write_access_to_a_database_on_read_only_media(tmp_path: Path) -> None:
    # A container's `:ro` volume: the database and its directory are another user's, readable only.
    media = tmp_path / "ro"
    media.mkdir()
    db = media / "m.db"
    now = time.time()
    log = SqliteEventLog(db)
    log.append_probe(Probe(now - 5, A, False, 503, 2.0))
    log.append_transition(AlertTransition(now - 5, A, TransitionKind.ALERT, 0.0, start=now - 5))
    log.close()
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": A}]}))
    db.chmod(0o444)
    media.chmod(0o555)
    before = db.read_bytes()
    alerts = App("-a", "-db", str(db), unprivileged=True)
    printer = App("-p", "-c", str(config), "-db", str(db), unprivileged=True)
    try:
        alerts.wait_for_line(lambda text: text.startswith("-- following"), 10)
        printer.wait_for_line(lambda text: text.startswith("replayed 1 stored probe(s)"), 10)
        assert [p.name for p in media.iterdir()] == ["m.db"] and db.read_bytes() == before
        # A monitor that may write there starts: the readers switch to its WAL and show what it appends.
        db.chmod(0o644)
        log = SqliteEventLog(db, flush_interval=0.05)
        log.append_transition(AlertTransition(now, B, TransitionKind.ALERT, 0.0, start=now))
        alerts.wait_for_line(lambda text: text.split()[1:3] == [B, "alert"], 5)
        log.close()
        statuses = [app.stop(signal.SIGINT) for app in (alerts, printer)]
    finally:
        media.chmod(0o755)
        alerts.kill()
        printer.kill()
    assert statuses == [(0, ""), (0, "")], alerts.describe() + printer.describe()
    assert alerts.output()[1].split()[1:3] == [A, "alert"]


@pytest.mark.skipif(unprivileged_prefix() is None, reason="root without setpriv cannot be held to file modes")
def test_a_wal_without_its_shm_in_a_read_only_directory_is_said_so_by_every_reader(tmp_path: Path) -> None:
    # A killed monitor's database copied without its -shm (a backup of the .db and -wal) onto read-only media:
    # SQLite must make the -shm to read the -wal, and cannot there. The file itself is sound.
    live = tmp_path / "live.db"
    writer = open_for_writing(live)
    writer.execute("PRAGMA wal_autocheckpoint = 0")  # the rows stay in the -wal, as a killed monitor's may
    insert_events(writer, [Probe(time.time() - 5, A, True, 200, 2.0)])
    media = tmp_path / "ro"
    media.mkdir()
    db = media / "m.db"
    db.write_bytes(live.read_bytes())
    (media / "m.db-wal").write_bytes((tmp_path / "live.db-wal").read_bytes())
    writer.close()
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": A}]}))
    media.chmod(0o555)
    try:
        done = [run_app(*mode, "-db", str(db), timeout=20, unprivileged=True)
                for mode in (("-a",), ("-p", "-c", str(config)), ("--replay", "-c", str(config)))]
    finally:
        media.chmod(0o755)
    said = (f"monitoringApp: error: {db}: cannot be read without writing beside it (its -wal has no -shm), and its "
            "directory is read-only here; read it where a monitor writes it, or copy it\n")
    assert [(run.returncode, run.stderr) for run in done] == [(2, said)] * 3
    assert sorted(p.name for p in media.iterdir()) == ["m.db", "m.db-wal"]


@pytest.mark.parametrize("mode", ["-a", "-p"])
def test_a_reader_whose_output_is_closed_stops_though_nothing_more_is_written(tmp_path: Path, mode: str) -> None:
    # `-a | head -1` while no new row comes (no database, no monitor; -p's first report a minute on): nothing is
    # written to meet the closed pipe, so a reader that noticed only on a write still runs when the 15 s wait for its
    # exit ends.
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": A}], "reports": [{"every": 60, "windows": [60]}]}))
    status, errors, _ = exit_after_output_closed(mode, "-c", str(config), "-db", str(tmp_path / "m.db"),
                                                 first="waiting for ")
    assert (status, errors) == (0, "")


def test_site_takes_any_spelling_of_a_stored_site_and_warns_of_one_that_matches_none(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    _stored(db, AlertTransition(T0, A, TransitionKind.ALERT, 0.25, start=T0),
            AlertTransition(T0 + 5, B, TransitionKind.ALERT, 0.5, start=T0 + 5))
    spelled = App("-a", "-db", str(db), "--site", "HTTP://A.TEST:80")
    unknown = App("-a", "-db", str(db), "--site", "http://c.test/")
    filtered = App("-a", "-db", str(db), "--since", "1h")
    try:
        for app in (spelled, unknown, filtered):
            app.wait_for_line(lambda text: text.startswith("-- following"), 10)
        statuses = [app.stop(signal.SIGINT) for app in (spelled, unknown, filtered)]
    finally:
        for app in (spelled, unknown, filtered):
            app.kill()
    assert [line.split()[1] for line in spelled.output()[1:-1]] == [A]
    assert statuses[0] == (0, "")
    assert statuses[1] == (0, f"warning: --site http://c.test/ matches no site in {db} yet\n")
    assert unknown.output()[1] == "(no alerts or recoveries of http://c.test/ yet)"
    assert statuses[2] == (0, "")
    assert filtered.output()[1].startswith("(no alerts or recoveries since ")  # 2 rows, both older


def test_history_shows_a_certificates_end_an_alert_below_its_threshold_and_takes_a_minus_age(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    now = time.time()
    expires = now + 6 * 86400
    warning = AlertTransition(now - 3600, "https://s.test/", TransitionKind.CERTIFICATE, None, expires,
                              expires - 7 * 86400, detail="expires in 6d23h")
    down = AlertTransition(now - 1800, A, TransitionKind.ALERT, 0.7996, start=now - 1800)
    old = AlertTransition(now - 6 * 86400, A, TransitionKind.ALERT, 0.5, start=now - 6 * 86400)
    _stored(db, old, warning, down)
    app = App("-a", "-db", str(db), "--since", "-5d")
    app.wait_for_line(lambda t: t.startswith("-- following"), timeout=10)
    assert app.stop(signal.SIGINT) == (0, "")
    rows = [line.split() for line in app.text().splitlines()[1:3]]
    assert rows[0][2:6] == ["certificate", iso_utc(expires), iso_utc(expires - 7 * 86400), "-"]
    assert rows[1][2] == "alert" and rows[1][6] == "79.9%"
    future = run_app("-a", "-db", str(db), "--since", "2099-01-01", timeout=20)
    assert (future.returncode, future.stdout) == (2, "")
    assert future.stderr.startswith("monitoringApp: error: --since: '2099-01-01' is in the future (it is ")


@pytest.mark.parametrize("mode", ["-a", "-p"])
def test_a_reader_stops_on_sighup_with_exit_0_and_under_nohup_follows_on(tmp_path: Path, mode: str,
                                                                        hup_default: None) -> None:
    # Its terminal closed (or `kill -HUP`): it was killed, exit 129, as if it had failed.
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": A}]}))
    args = (mode, "-c", str(config), "-db", str(tmp_path / "m.db"))
    reader = App(*args)  # SIGHUP at its default (hup_default), as from a terminal, even when the suite runs under nohup
    kept = App(program=["nohup", sys.executable, str(ENTRY), *args])  # nohup: SIGHUP ignored, output to its file
    try:
        for app in (reader, kept):
            app.wait_for_line(lambda text: text.startswith("waiting for "), 15)
        # Their handlers in place (the line comes after): under nohup SIGHUP is still one the kernel discards.
        assert sighup_ignored(kept.process.pid) and not sighup_ignored(reader.process.pid)
        assert reader.stop(signal.SIGHUP) == (0, "")
        kept.process.send_signal(signal.SIGHUP)
        assert kept.running()
        assert kept.stop(signal.SIGINT)[0] == 0
    finally:
        reader.kill()
        kept.kill()

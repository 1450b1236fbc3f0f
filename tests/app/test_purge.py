"""`--purge` through the CLI, and a purge while a real monitor writes."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trustme

from bench.processes import ENTRY, App, run_app, unprivileged_prefix, wait_until
from monitoringapp.app.cli import main
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store.sqlite.rollups import rebuild
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing
from tests.local_http import LocalServer, local_server

A, B = "http://a.test/", "http://b.test/"
DAY = 86400.0


def make_db(path: Path, probes: list[Probe], transitions: tuple[AlertTransition, ...] = ()) -> None:
    connection = open_for_writing(path)
    connection.execute("BEGIN")
    insert_events(connection, probes, transitions)
    connection.execute("COMMIT")
    connection.close()


def count(path: Path, table: str = "website_monitoring", where: str = "1") -> int:
    connection = sqlite3.connect(path, timeout=10)
    try:
        return int(connection.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0])
    finally:
        connection.close()


def ages(now: float, days: list[float], host: str = A) -> list[Probe]:
    return [Probe(now - d * DAY, host, True, 200, 1.0) for d in days]


def test_purge_default_is_older_than_7_days_and_prints_the_count(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    now = time.time()
    make_db(db, ages(now, [30, 10, 8, 6, 1]) + ages(now, [9, 2], B))
    assert main(["--purge", "-db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"deleted 4 probe row(s) older than {iso_utc(now - 7 * DAY)[:16]}")
    assert count(db) == 3


def test_purge_one_site_before_an_iso_date_with_alerts_and_vacuum(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    cutoff = datetime(2026, 1, 1, tzinfo=UTC).timestamp()

    def alert(at: float, host: str) -> AlertTransition:
        return AlertTransition(at, host, TransitionKind.ALERT, 0.5, at)

    make_db(db, ages(cutoff, [3, 2, -1]) + ages(cutoff, [3], B),
            (alert(cutoff - 3 * DAY, A), alert(cutoff - 2 * DAY, A), alert(cutoff - 3 * DAY, B)))
    argv = ["--purge", "--before", "2026-01-01", "--site", A, "--alerts", "--vacuum", "-db", str(db)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"deleted 2 probe row(s) of {A} older than 2026-01-01T00:00:00.000Z from {db}"
    assert lines[1] == (f"deleted 1 alert row(s) of {A} "
                        "(kept: each site's alert state and each certificate's latest warning)")
    assert lines[2].startswith(f"vacuumed {db} in ")
    assert (count(db, where=f"host = '{A}'"), count(db, where=f"host = '{B}'")) == (1, 1)
    assert count(db, "website_alerts") == 2


def test_purge_of_a_missing_database_creates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--purge", "-db", str(tmp_path / "m.db")]) == 2
    assert capsys.readouterr().err == f"monitoringApp: error: {tmp_path / 'm.db'}: database not found\n"
    assert list(tmp_path.iterdir()) == []


def test_vacuum_of_a_database_from_before_schema_2_is_one_line_and_exit_2_with_nothing_deleted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "round-one.db"
    with sqlite3.connect(db) as old:  # round one's tables: rows numbered by rowid only
        old.execute("CREATE TABLE website_monitoring (timestamp TEXT NOT NULL, host TEXT NOT NULL, "
                    "available INTEGER NOT NULL, status INTEGER, responseTime REAL, errorKind TEXT)")
        old.executemany("INSERT INTO website_monitoring VALUES (?, ?, 1, 200, 1.0, NULL)",
                        [(iso_utc(t), A) for t in (1.0, 2.0, 3.0)])
        old.execute("PRAGMA user_version = 1")
    old.close()
    assert main(["--purge", "--before", "2026-01-01", "--vacuum", "-db", str(db)]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", (
        f"monitoringApp: error: {db}: --vacuum would renumber the rows of this database from before schema 2, and "
        "readers follow them by number; run -m on it once (it migrates the file, keeping every row and its "
        "number), then --vacuum\n"))
    assert count(db) == 3
    assert main(["--purge", "--before", "2026-01-01", "-db", str(db)]) == 0, "without --vacuum it purges"
    assert capsys.readouterr().out.startswith("deleted 2 probe row(s)") and count(db) == 1


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# ---- a purge while a real monitor writes ---------------------------------------------------------------


@pytest.mark.slow
def test_purge_while_a_monitor_writes_both_succeed_and_the_monitor_keeps_writing(tmp_path: Path,
                                                                                 server: LocalServer) -> None:
    db, cfg, url = tmp_path / "m.db", tmp_path / "config.json", server.url("/ok")
    old = 60_000
    make_db(db, ages(time.time(), [30.0] * old, url))
    connection = open_for_writing(db)
    rebuild(connection)  # its rollups, as a monitor would have written them: the monitor says nothing of a rebuild
    connection.close()
    cfg.write_text(f'{{"websites": [{{"URL": "{url}", "checkInterval": 0.1}}], '
                   '"reports": [{"every": 60, "windows": [60]}]}')
    monitor = App("-m", "--silent", "-c", str(cfg), "-db", str(db))
    try:
        wait_until(lambda: count(db) >= old + 20, 8, "the monitor's first rows (it never wrote)", alive=monitor)
        purge = run_app("--purge", "--before", "1d", "-db", str(db), timeout=30)
        assert (purge.returncode, purge.stderr) == (0, "")
        assert purge.stdout.startswith(f"deleted {old} probe row(s) older than")
        written = count(db)
        wait_until(lambda: count(db) >= written + 20, 8, "rows after the purge (the monitor stopped writing)",
                   alive=monitor)
        assert monitor.running()
    finally:
        status, errors = monitor.stop(signal.SIGINT, timeout=10)
    assert (status, errors) == (0, ""), "the monitor saw a database error during the purge"
    assert count(db, where=f"timestamp < '{iso_utc(time.time() - DAY)}'") == 0


def test_purge_site_takes_any_spelling_of_the_site_and_warns_of_one_that_matches_none(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "m.db"
    now = time.time()
    make_db(db, ages(now, [30, 20]) + ages(now, [30], B))
    assert main(["--purge", "--site", "HTTP://A.test:80", "-db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"deleted 2 probe row(s) of {A} older than") and err == ""
    assert main(["--purge", "--site", "http://c.test/", "-db", str(db)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("deleted 0 probe row(s) of http://c.test/")
    assert err == f"warning: --site http://c.test/ matches no site in {db}\n"
    assert count(db) == 1


def read_terminal(leader: int, until: bytes, timeout: float) -> bytes:
    """What a process wrote to the terminal `leader` is the other end of, until `until` shows (or it ends)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while until not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the process has closed its end
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.slow
def test_an_interrupted_purge_showed_its_progress_exits_130_and_says_how_much_it_deleted(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    rows = 400_000  # 80 batches, each followed by a pause: about a second to go when it is interrupted
    make_db(db, ages(time.time(), [30.0] * rows))
    leader, follower = os.openpty()
    process = subprocess.Popen([sys.executable, str(ENTRY), "--purge", "-db", str(db)], stdout=subprocess.PIPE,
                               stderr=follower, text=True)
    os.close(follower)
    try:
        shown = read_terminal(leader, b"rows/s", 20)  # the bar, with its rate, on the terminal
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=20)
        shown += read_terminal(leader, b"(run --purge again to finish)", 5)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    assert status == 130
    assert process.stdout is not None and process.stdout.read() == ""  # no "deleted ..." line: it was not done
    text = shown.decode()
    assert re.search(r"\rpurging probes \[#*-*\] +\d+%  [\d,]+ of [\d,]+ rows  [\d,]+ rows/s, \d+s left", text), text
    # A terminal ends lines with \r\n; the bar's last frame was cleared with \r before the message.
    message = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()][-1].split("\r")[-1]
    found = re.fullmatch(r"monitoringApp: interrupted: deleted (\d+) probe row\(s\) older than \S+ before it was "
                         r"stopped; the rest of them are still there \(run --purge again to finish\)", message)
    assert found, message
    assert 0 < int(found[1]) < rows and count(db) == rows - int(found[1])


@pytest.mark.slow  # the purge's busy timeout (5 s) has to run out once
def test_a_purge_stopped_by_another_process_holding_the_database_says_how_much_it_deleted(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    rows = 400_000  # 80 batches, each followed by a pause
    make_db(db, ages(time.time(), [30.0] * rows))
    process = subprocess.Popen([sys.executable, str(ENTRY), "--purge", "-db", str(db)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    holder = sqlite3.connect(db, isolation_level=None, timeout=10)
    try:
        wait_until(lambda: count(db) < rows or None, timeout=20, what="the purge's first batch", step=0.005)
        holder.execute("BEGIN IMMEDIATE")  # the sqlite3 shell, another --purge's VACUUM: held past 5 s
        _, errors = process.communicate(timeout=20)
    finally:
        holder.close()
        if process.poll() is None:
            process.kill()
    found = re.fullmatch(rf"monitoringApp: error: {re.escape(str(db))}: purge stopped: busy \(locked by another "
                         r"process for more than 5s\); deleted (\d+) probe row\(s\) older than \S+ before it "
                         r"stopped; the rest of them are still there \(run --purge again to finish\)\n", errors)
    assert process.returncode == 2 and found, errors
    assert 0 < int(found[1]) == rows - count(db)


@pytest.mark.slow
@pytest.mark.skipif(unprivileged_prefix() is None, reason="root without setpriv cannot be held to file modes")
def test_purge_of_a_read_only_database_is_refused_untouched_with_nothing_beside_it(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    make_db(db, ages(time.time(), [30, 20]))
    db.chmod(0o444)
    before = db.read_bytes()
    done = run_app("--purge", "-db", str(db), timeout=20, unprivileged=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"monitoringApp: error: {db}: is read-only (permission denied); this mode writes to it\n"
    assert db.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.db"]


@pytest.mark.slow
@pytest.mark.skipif(unprivileged_prefix() is None, reason="root without setpriv cannot be held to file modes")
def test_purge_of_a_database_in_a_read_only_directory_is_refused_saying_why(tmp_path: Path) -> None:
    # The file may be written, its directory not: SQLite cannot make the -wal and -shm it writes through.
    media = tmp_path / "ro"
    media.mkdir()
    db = media / "m.db"
    make_db(db, ages(time.time(), [30, 20]))
    before = db.read_bytes()
    media.chmod(0o555)
    try:
        done = run_app("--purge", "--before", "1d", "-db", str(db), timeout=20, unprivileged=True)
    finally:
        media.chmod(0o755)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"monitoringApp: error: {db}: directory {str(media)!r} is not writable (a writer creates "
                           "its -wal and -shm files beside the database)\n")
    assert db.read_bytes() == before and [p.name for p in media.iterdir()] == ["m.db"]


@pytest.mark.slow
def test_a_monitor_restarted_after_a_purge_of_alerts_does_not_warn_of_a_certificate_again(tmp_path: Path) -> None:
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    authority.issue_cert("127.0.0.1", not_after=datetime.now(UTC) + timedelta(days=10)).configure_cert(tls)
    db, cfg = tmp_path / "m.db", tmp_path / "config.json"
    with local_server(tls=tls) as server:
        cfg.write_text(json.dumps({"websites": [{"URL": server.url("/ok"), "checkInterval": 0.2,
                                                 "caFile": str(tmp_path / "ca.pem")}]}))
        first = App("-m", "-c", str(cfg), "-db", str(db))
        try:
            first.wait_for_line(lambda text: "certificate expires in 9d23h" in text, 20)
        finally:
            assert first.stop(signal.SIGINT)[0] == 0
        purge = run_app("--purge", "--alerts", "--before", "0s", "-db", str(db), timeout=30)
        assert (purge.returncode, purge.stderr) == (0, "")
        assert count(db) == 0, "every probe went: the purge reached past the warning"
        again = App("-m", "-c", str(cfg), "-db", str(db))
        try:
            wait_until(lambda: count(db) >= 3, 15, "the restarted monitor's probes", alive=again)
        finally:
            assert again.stop(signal.SIGINT)[0] == 0
    assert "certificate" not in again.text(), "the warning already given was given again"
    assert count(db, "website_alerts", "type = 'certificate'") == 1

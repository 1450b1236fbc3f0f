"""`./monitoringApp.py -m` end to end, as a subprocess against a local server that goes down and comes back.

Short windows (3 s alert window, 0.5 s checks) keep the whole file under about 20 s; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import trustme

from bench.processes import ENTRY, App, exit_after_output_closed, run_app, unprivileged_prefix, wait_until
from bench.procstat import children
from monitoringapp.domain.events import Probe
from monitoringapp.domain.percent import percent_text
from monitoringapp.domain.timefmt import parse_iso, whole_millis
from monitoringapp.store.sqlite.rollups import rebuild
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing
from tests.gap_outage import write_gap_outage
from tests.local_http import LocalServer, local_server
from tests.local_socks import local_socks_proxy

pytestmark = pytest.mark.slow  # real processes

INTERVAL = 0.5


def write_config(path: Path, url: str) -> Path:
    path.write_text(json.dumps({
        "websites": [{"URL": url, "checkInterval": INTERVAL}],
        "alertWindow": 3,
        "reports": [{"every": 1, "windows": [3]}],
    }))
    return path


def monitor(config: Path, db: Path, *flags: str) -> App:
    return App("-m", "-c", str(config), "-db", str(db), *flags)


def rows(db: Path, query: str) -> list[tuple[object, ...]]:
    """Rows of `query`, or none while the monitor has not created the database yet."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=2) as reader:
            return reader.execute(query).fetchall()
    except sqlite3.OperationalError:
        return []


def probe_count(db: Path) -> int:
    found = rows(db, "SELECT count(*) FROM website_monitoring")
    return int(found[0][0]) if found else 0  # type: ignore[call-overload]


def alert_rows(db: Path) -> list[tuple[object, ...]]:
    return rows(db, "SELECT timestamp, host, type, startDate, endDate, availability FROM website_alerts "
                    "ORDER BY timestamp, rowid")


def test_site_goes_down_and_comes_back_alert_and_recovery_stored_and_printed(tmp_path: Path,
                                                                           server: LocalServer) -> None:
    url, db = server.url("/health"), tmp_path / "m.db"
    app = monitor(write_config(tmp_path / "c.json", url), db)
    try:
        wait_until(lambda: probe_count(db) >= 3, 8, "probe rows", alive=app)
        server.healthy = False
        wait_until(lambda: len(alert_rows(db)) == 1, 6, "alert row", alive=app)
        server.healthy = True
        wait_until(lambda: len(alert_rows(db)) == 2, 8, "recovery row", alive=app)
        status, errors = app.stop(signal.SIGTERM)
        assert status == 0
    finally:
        app.kill()

    (alert, recovery) = alert_rows(db)
    assert alert[1:3] == (url, "alert") and recovery[1:3] == (url, "recovery")
    assert alert[3] == alert[0] and alert[4] is None  # startDate is the alert's time; no endDate
    assert recovery[3] == alert[0] and recovery[4] == recovery[0]
    assert str(recovery[3]) < str(recovery[4])  # fixed-width ISO text: text order is time order
    assert 0.0 <= float(alert[5]) < 0.8 <= float(recovery[5]) <= 1.0  # type: ignore[arg-type]

    probes = rows(db, "SELECT timestamp, available, status, responseTime FROM website_monitoring ORDER BY timestamp")
    assert {(available, status) for _, available, status, _ in probes} == {(1, 200), (0, 503)}
    times = [parse_iso(str(t)) for t, *_ in probes]
    # A fixed-rate clock: every probe on the grid start + n * interval (the text keeps milliseconds).
    assert all(abs((t - times[0]) / INTERVAL - round((t - times[0]) / INTERVAL)) < 0.004 for t in times)
    assert all(isinstance(rt, float) and rt >= 0 for *_, rt in probes)  # 200 and 503 are both responses

    output = app.output()
    down = [line for line in output if line.startswith(f"Website {url} is down.")]
    back = [line for line in output if line.startswith(f"Website {url} recovered.")]
    # An alert's availability is rounded down (below its threshold), a recovery's to the nearest.
    assert down == [f"Website {url} is down. availability={percent_text(float(alert[5]), below=True)}, "  # type: ignore[arg-type]
                    f"time={alert[0]}, reason: status 503"]  # what the failing probe got
    assert len(back) == 1 and back[0].startswith(
        f"Website {url} recovered. availability={percent_text(float(recovery[5]))}, time={recovery[0]}, "  # type: ignore[arg-type]
        f"down since {alert[0]} (")
    assert any(line.startswith("== past 3s at ") for line in output)
    assert any(line.startswith(url) for line in output)  # a report row for the site
    assert not any("\033[" in line for line in output)  # piped: no colour
    assert output[-1].startswith("stopped: ")
    assert errors == ""


def test_a_config_of_no_reports_monitors_and_alerts_and_prints_no_report(tmp_path: Path,
                                                                        server: LocalServer) -> None:
    # `"reports": []` passed --check and a reload, but a monitor started with it died at its first probe.
    url, db, config = server.url("/health"), tmp_path / "m.db", tmp_path / "c.json"
    server.healthy = False
    config.write_text(json.dumps({"websites": [{"URL": url, "checkInterval": INTERVAL}], "reports": []}))
    app = monitor(config, db)
    try:
        app.wait_for_line(lambda line: line.startswith(f"Website {url} is down."), 8)
        wait_until(lambda: probe_count(db) >= 4, 8, "probe rows", alive=app)
        status, errors = app.stop(signal.SIGTERM)
    finally:
        app.kill()
    assert (status, errors) == (0, "")
    assert not any(line.startswith("== past ") for line in app.output())


def test_restart_during_an_outage_keeps_the_alert_and_emits_the_recovery(tmp_path: Path,
                                                                        server: LocalServer) -> None:
    url, db = server.url("/health"), tmp_path / "m.db"
    config = write_config(tmp_path / "c.json", url)
    server.healthy = False
    first = monitor(config, db)
    try:
        wait_until(lambda: len(alert_rows(db)) == 1, 8, "alert row", alive=first)
        assert first.stop(signal.SIGTERM)[0] == 0
    finally:
        first.kill()
    stored_before = probe_count(db)

    second = monitor(config, db)
    try:
        # Still down: a monitor that forgot the alert would raise it again on its first probe.
        wait_until(lambda: probe_count(db) >= stored_before + 4, 8, "probes after restart", alive=second)
        assert [row[2] for row in alert_rows(db)] == ["alert"]
        server.healthy = True
        wait_until(lambda: len(alert_rows(db)) == 2, 8, "recovery row", alive=second)
        assert second.stop(signal.SIGTERM)[0] == 0
    finally:
        second.kill()

    (alert, recovery) = alert_rows(db)
    assert (alert[2], recovery[2]) == ("alert", "recovery")
    assert recovery[3] == alert[3] == alert[0]  # the recovery closes the outage the first run opened
    output = second.output()
    assert "restored" in output[0] and "1 alert state(s)" in output[0]
    assert not any(" is down." in line for line in output)
    assert sum(f"Website {url} recovered." in line for line in output) == 1


def test_a_bad_config_exits_2_with_one_line_and_leaves_the_database_untouched(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    open_for_writing(db).close()
    before = db.read_bytes()
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"websites": [{"URL": "http://127.0.0.1:9/", "checkInterval": -1}]}))
    done = run_app("-m", "-c", str(config), "-db", str(db), timeout=30)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (f"monitoringApp: error: {config}: websites[0].checkInterval: "
                           "must be a finite number > 0, got -1\n")
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "m.db"]


def test_a_file_that_is_not_a_database_exits_2_and_is_left_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "notes.txt"
    db.write_text("my notes\n" * 100)
    config = write_config(tmp_path / "c.json", "http://127.0.0.1:9/")
    done = run_app("-m", "-c", str(config), "-db", str(db), timeout=30)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"monitoringApp: error: {db}: ")
    assert "Traceback" not in done.stderr
    assert db.read_text() == "my notes\n" * 100


def monitor_with_a_probe_hanging(tmp_path: Path, server: LocalServer, timeout: float) -> tuple[App, Path]:
    """A monitor of one site that does not answer, its first tick's probe in flight (the server has its request),
    with a grace (20 s) far longer than the probe's `timeout`: the probe ends by its timeout within it."""
    db, config = tmp_path / "m.db", tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": server.url("/hang"), "checkInterval": 5,
                                                "timeout": timeout}]}))
    app = monitor(config, db, "--stop-grace", "20")
    try:
        wait_until(lambda: server.requests, 8, "the first probe's request", alive=app)
    except BaseException:
        app.kill()
        raise
    return app, db


def test_sigterm_lets_a_probe_in_flight_end_by_its_timeout_and_stores_it(tmp_path: Path,
                                                                         server: LocalServer) -> None:
    # The probe's timeout (3 s) is past the default grace (2 s): the grace asked for is the one waited.
    app, db = monitor_with_a_probe_hanging(tmp_path, server, timeout=3)
    try:
        assert app.stop(signal.SIGTERM) == (0, "")
    finally:
        app.kill()
    assert "stopping: 1 probe in flight, waiting up to 20s" in app.output()
    # Waited for the probe (stored), which ended by its timeout (not answered, not abandoned).
    assert rows(db, "SELECT available, status, responseTime, errorKind FROM website_monitoring") == [
        (0, None, None, "timeout")]
    assert app.output()[-1] == "stopped: 1 checks, 0 skipped ticks"


def test_a_sighup_while_stopping_is_ignored_and_the_probe_in_flight_still_stored(tmp_path: Path,
                                                                                 server: LocalServer) -> None:
    app, db = monitor_with_a_probe_hanging(tmp_path, server, timeout=2)
    try:
        app.process.send_signal(signal.SIGTERM)
        app.wait_for_line(lambda text: text.startswith("stopping: 1 probe in flight"), 8)  # waiting for the probe
        status, errors = app.stop(signal.SIGHUP)
    finally:
        app.kill()
    assert (status, errors) == (0, "")
    assert rows(db, "SELECT available, errorKind FROM website_monitoring") == [(0, "timeout")]
    assert app.output()[-1] == "stopped: 1 checks, 0 skipped ticks"


def test_when_the_reader_of_its_output_goes_away_the_monitor_stops_cleanly_like_sigterm(
        tmp_path: Path, server: LocalServer) -> None:
    # `./monitoringApp.py -m | head -1`: once head has its line and exits, the next write meets a
    # closed pipe. The monitor must stop as on SIGTERM (flush, exit 0), not lose its clock thread.
    server.healthy = False  # the first probe alerts at once, so a write comes right away
    config = write_config(tmp_path / "config.json", server.url("/health"))
    db = tmp_path / "m.db"
    status, stderr, _ = exit_after_output_closed("-m", "-c", str(config), "-db", str(db), first="monitoring 1 site(s)")
    assert status == 0 and stderr == "", stderr
    assert alert_rows(db) and probe_count(db) >= 1  # flushed on the way out


# ---- stopping within a grace, one writer, a database deleted or read-only, paths checked at start ---------


def monitor_of_a_hanging_and_a_fast_site(tmp_path: Path, server: LocalServer, *flags: str) -> tuple[App, Path]:
    """A monitor whose /hang probe (timeout 30 s) is in flight and whose fast site has stored a few rows."""
    db, config = tmp_path / "m.db", tmp_path / "c.json"
    fast = server.url("/ok?fast")
    config.write_text(json.dumps({"websites": [{"URL": server.url("/hang"), "checkInterval": 60, "timeout": 30},
                                               {"URL": fast, "checkInterval": 0.2}],
                                  "reports": [{"every": 60, "windows": [60]}]}))
    app = monitor(config, db, *flags)
    try:
        wait_until(lambda: len(rows(db, f"SELECT 1 FROM website_monitoring WHERE host = '{fast}'")) >= 3, 8,
                   "the fast site's rows", alive=app)
    except BaseException:
        app.kill()
        raise
    return app, db


def test_a_stop_waits_the_grace_for_a_hanging_probe_says_so_and_keeps_everything_probed(
        tmp_path: Path, server: LocalServer) -> None:
    app, db = monitor_of_a_hanging_and_a_fast_site(tmp_path, server)
    try:
        # Bounded by `stop`'s 10 s (then SIGKILL): a monitor waiting out the probe's 30 s is not exit 0.
        status, errors = app.stop(signal.SIGTERM)
    finally:
        app.kill()
    assert (status, errors) == (0, "")
    output = app.output()
    assert any(re.fullmatch(r"stopping: \d+ probes? in flight, waiting up to 2s", line) for line in output), output
    stopped = re.fullmatch(r"stopped: (\d+) checks, 0 skipped ticks, 1 probe in flight abandoned", output[-1])
    assert stopped, output[-1]
    # Every check but the abandoned one is stored: nothing already probed is lost.
    assert probe_count(db) == int(stopped[1]) - 1


def test_a_monitor_stopped_while_another_process_holds_its_database_says_what_it_could_not_store(
        tmp_path: Path, server: LocalServer) -> None:
    db = tmp_path / "m.db"
    app = monitor(write_config(tmp_path / "c.json", server.url("/ok")), db, "--silent")
    holder = sqlite3.connect(db, isolation_level=None, timeout=10)
    try:
        wait_until(lambda: probe_count(db) >= 1, 8, "the first stored probe", alive=app)
        holder.execute("BEGIN IMMEDIATE")  # the sqlite3 shell, a long VACUUM: past the writer's 5 s
        wait_until(lambda: "database is locked" in app.stderr() or None, 10, "the held batch said", alive=app)
        status, errors = app.stop(signal.SIGTERM, timeout=15)
    finally:
        holder.close()
        app.kill()
    assert status == 0
    lines = [line for line in errors.splitlines() if not line.startswith("retention: ")]  # its round, held too
    assert lines[0] == f"error: {db}: database is locked; the batch is kept and tried again", errors
    # Its last batch, the probes held meanwhile with it, could not go in either: they are lost, and it says so.
    assert len(lines) == 2 and re.fullmatch(rf"error: {re.escape(str(db))}: database is locked; \d+ probe\(s\) "
                                            r"and 0 alert row\(s\) not stored", lines[1]), errors


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("unshare") is None,
                    reason="a full disk is a small tmpfs, mounted as root in a mount namespace of its own")
def test_a_database_on_a_full_disk_is_said_to_be_so_by_a_monitor_and_a_reader(tmp_path: Path) -> None:
    # A container restarted once its volume filled up: SQLite cannot make the -shm it opens the file through,
    # and says "disk I/O error" of a sound database.
    made = tmp_path / "made.db"
    connection = open_for_writing(made)
    insert_events(connection, [Probe(time.time(), "http://a.test/", True, 200, 1.0)])
    connection.close()
    volume = tmp_path / "volume"
    volume.mkdir()
    db = volume / "m.db"
    config = write_config(tmp_path / "c.json", "http://127.0.0.1:9/")
    script = (f"mount -t tmpfs -o size=256k tmpfs {volume} && cp {made} {db} && "
              f"{{ dd if=/dev/zero of={volume}/filler bs=4k 2>/dev/null; true; }} && "
              f"{sys.executable} {ENTRY} -m -c {config} -db {db}; echo $?; "
              f"{sys.executable} {ENTRY} -a -db {db}; echo $?")
    done = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["2", "2"], done.stdout + done.stderr
    said = (rf"monitoringApp: error: {re.escape(str(db))}: its file system is full \([\d,]+ bytes free\): SQLite "
            r"makes its -wal and -shm files beside it to open it; free some space and start again\n")
    assert re.fullmatch(said * 2, done.stderr), done.stderr


def test_a_second_signal_while_stopping_stops_at_once(tmp_path: Path, server: LocalServer) -> None:
    app, _ = monitor_of_a_hanging_and_a_fast_site(tmp_path, server, "--stop-grace", "60")
    try:
        app.process.send_signal(signal.SIGINT)
        app.wait_for_line(lambda text: text.startswith("stopping: "), 5)
        # Bounded by `stop`'s 10 s (then SIGKILL): a monitor that waited out its 60 s grace is not exit 0.
        status, errors = app.stop(signal.SIGINT)
    finally:
        app.kill()
    assert (status, errors) == (0, "")
    assert app.output()[-1].endswith("1 probe in flight abandoned")


def test_a_second_monitor_on_the_same_database_exits_2_at_once_and_the_first_goes_on(
        tmp_path: Path, server: LocalServer) -> None:
    db = tmp_path / "m.db"
    config = write_config(tmp_path / "c.json", server.url("/ok"))
    first = monitor(config, db)
    try:
        wait_until(lambda: probe_count(db) >= 2, 8, "the first monitor's rows", alive=first)
        second = run_app("-m", "-c", str(config), "-db", str(db), timeout=20)
        assert second.returncode == 2 and second.stdout == ""
        assert re.fullmatch(rf"monitoringApp: error: {db} is already being written by process {first.process.pid} "
                            r"\(started \d{4}-\d\d-\d\dT[\d:.]+Z\)\n", second.stderr), second.stderr
        stored = probe_count(db)
        wait_until(lambda: probe_count(db) >= stored + 2, 8, "the first monitor going on", alive=first)
        assert first.stop(signal.SIGTERM) == (0, "")
    finally:
        first.kill()
    assert not (tmp_path / "m.db.lock").exists()  # the lock went with the first


def test_the_database_deleted_while_monitoring_is_noticed_and_the_monitor_stops_with_status_1(
        tmp_path: Path, server: LocalServer) -> None:
    db = tmp_path / "m.db"
    app = monitor(write_config(tmp_path / "c.json", server.url("/ok")), db)
    try:
        wait_until(lambda: probe_count(db) >= 2, 8, "the first rows", alive=app)
        db.unlink()
        wait_until(lambda: not app.running(), 6, "the monitor to notice and stop")
        status, errors = app.stop()
    finally:
        app.kill()
    assert status == 1
    assert errors == (f"monitoringApp: error: {db} was deleted or replaced while this monitor wrote to it; stopped "
                      "so that no probe is lost without a word (start it again to write a new database)\n")
    assert app.output()[-1].startswith("stopped: ")


def test_a_metrics_file_that_cannot_be_written_is_refused_at_start(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.json", "http://127.0.0.1:9/")
    done = run_app("-m", "-c", str(config), "-db", str(tmp_path / "m.db"), "--metrics",
                   str(tmp_path / "missing" / "m.json"), timeout=20)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"monitoringApp: error: --metrics: {tmp_path / 'missing' / 'm.json'}: "
                           f"directory '{tmp_path / 'missing'}' does not exist\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


@pytest.mark.skipif(unprivileged_prefix() is None, reason="root without setpriv cannot be held to file modes")
def test_a_read_only_database_file_is_refused_byte_identical_with_nothing_beside_it(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    open_for_writing(db).close()
    db.chmod(0o444)
    before = db.read_bytes()
    config = write_config(tmp_path / "c.json", "http://127.0.0.1:9/")
    done = run_app("-m", "-c", str(config), "-db", str(db), timeout=20, unprivileged=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"monitoringApp: error: {db}: is read-only (permission denied); this mode writes to it\n"
    assert db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "m.db"]


def test_when_the_reader_of_its_output_goes_away_between_writes_the_monitor_stops_before_its_next_write(
        tmp_path: Path, server: LocalServer) -> None:
    # `-m | head -1` on a healthy site with a report a minute: no write is coming to meet the closed pipe.
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": server.url("/ok"), "checkInterval": 0.5}],
                                  "reports": [{"every": 60, "windows": [60]}]}))
    # Waited for at most 15 s: a monitor that noticed only at its next write (the report, a minute on) is not
    # done by then.
    status, errors, _ = exit_after_output_closed("-m", "-c", str(config), "-db", str(tmp_path / "m.db"),
                                                 first="monitoring 1 site(s)")
    assert (status, errors) == (0, "")


def test_a_password_in_a_url_is_used_by_the_probe_and_never_printed_or_stored(tmp_path: Path,
                                                                              server: LocalServer) -> None:
    server.healthy = False  # an alert: the URL is printed in a report and an alert line
    secret_url = server.url("/health").replace("http://", "http://ops:s3cret@")
    shown = server.url("/health").replace("http://", "http://ops:***@")
    db = tmp_path / "m.db"
    app = monitor(write_config(tmp_path / "c.json", secret_url), db)
    try:
        app.wait_for_line(lambda text: text.startswith(f"Website {shown} is down."), 8)
        app.wait_for_line(lambda text: text.startswith(shown), 8)  # a report row
        status, errors = app.stop(signal.SIGTERM)
    finally:
        app.kill()
    assert status == 0
    assert server.authorizations == {"Basic b3BzOnMzY3JldA=="}  # ops:s3cret, sent by the probe
    assert "s3cret" not in app.text() + errors
    assert rows(db, "SELECT DISTINCT host FROM website_monitoring") == [(shown,)]
    assert rows(db, "SELECT DISTINCT host FROM website_alerts") == [(shown,)]
    assert all(b"s3cret" not in path.read_bytes() for path in tmp_path.iterdir() if path.name != "c.json")


@pytest.mark.parametrize(("password", "stored"), [
    ("s3cret", (1, 200, None, None)),
    ("guessed", (0, None, "connection", "SOCKS proxy: SOCKS5 authentication failed")),
], ids=["its-login", "a-login-it-refuses"])
def test_a_site_behind_a_socks_proxy_of_all_proxy_is_probed_through_it_and_its_password_never_shown_or_stored(
        tmp_path: Path, server: LocalServer, password: str, stored: tuple[object, ...]) -> None:
    # Before PySocks was a dependency, every probe was stored as `connection`, and nothing said why.
    behind = "behind-the-socks-proxy.test"  # only the proxy knows it: no DNS server is asked
    with local_socks_proxy(login=("ops", "s3cret"), names={behind: "127.0.0.1"}) as proxy:
        db = tmp_path / "m.db"
        # An empty lower-case variable unsets its upper-case one (urllib's rule): the others are emptied, not it.
        proxies = {name: "" for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")}
        socks_url = proxy.url("socks5h", "ops", password)
        app = App("-m", "-c", str(write_config(tmp_path / "c.json", server.url("/health", host=behind))),
                  "-db", str(db), env={**proxies, "ALL_PROXY": socks_url, "all_proxy": socks_url})
        try:
            wait_until(lambda: probe_count(db) >= 2, 8, "probe rows", alive=app)
            status, errors = app.stop(signal.SIGTERM)
        finally:
            app.kill()
    assert status == 0
    assert set(rows(db, "SELECT available, status, errorKind, detail FROM website_monitoring")) == {stored}
    assert proxy.logins[0] == ("ops", password)
    assert password not in app.text() + errors
    assert all(password.encode() not in path.read_bytes() for path in tmp_path.iterdir())


def test_an_alert_seen_long_after_its_check_says_both_times_and_a_young_window_says_how_much_it_covers(
        tmp_path: Path, server: LocalServer) -> None:
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": server.url("/slow"), "checkInterval": 5, "timeout": 3}],
                                  "reports": [{"every": 2, "windows": [120]}]}))
    app = monitor(config, tmp_path / "m.db")
    try:
        _, alert = app.wait_for_line(lambda text: " is down." in text, 8)
        _, title = app.wait_for_line(lambda text: text.startswith("== past 2m00s"), 8)
        assert app.stop(signal.SIGTERM)[0] == 0
    finally:
        app.kill()
    # The check's tick, then when its answer came (1.2 s later) and the alert was seen: how long after, to the second
    # rounded down, is what the two times say. "1s" it was, until a loaded host kept the monitor from judging the
    # answer for another 0.8 s (the monitor SIGSTOPped 1 s as the answer came: "2s after the check").
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    said = re.fullmatch(rf"Website {server.url('/slow')} is down\. availability=0\.0%, time=({stamp}), "
                        rf"reason: status 503 \(seen ({stamp}), (\d+)s after the check\)", alert)
    assert said, alert
    after = parse_iso(said[2]) - parse_iso(said[1])
    assert after >= server.slow_for - 0.001, alert  # the times to the millisecond, rounded
    assert int(said[3]) in {int(after - 0.001), int(after + 0.001)}, alert
    assert re.fullmatch(rf"== past 2m00s at {stamp} \([23]s of it covered\) ==", title), title


def test_a_probe_in_flight_across_a_kill_stop_longer_than_its_timeout_is_stored_up_and_timed_without_the_stop(
        tmp_path: Path, server: LocalServer) -> None:
    # The answer came while the monitor was stopped; at SIGCONT the watchdog cut the probe at its deadline (long past
    # by the clock): a `timeout` stored for a site that was up, and three such stops alerted.
    server.late_for = 30.0  # /late answers when released
    url, db, config = server.url("/late"), tmp_path / "m.db", tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": url, "checkInterval": 60, "timeout": 2}], "reports": []}))
    app = monitor(config, db)
    try:
        wait_until(lambda: server.requests >= 1, 15, "the probe's request", alive=app)
        app.process.send_signal(signal.SIGSTOP)
        try:
            server.release.set()  # answered while the monitor is stopped
            time.sleep(4.0)  # the stop itself: twice the timeout
        finally:
            app.process.send_signal(signal.SIGCONT)
        wait_until(lambda: probe_count(db) >= 1, 10, "the probe's row", alive=app)
        assert app.stop(signal.SIGTERM)[0] == 0
    finally:
        app.kill()
    ((available, status, error, response_ms),) = rows(db, "SELECT available, status, errorKind, responseTime "
                                                            "FROM website_monitoring")
    assert (available, status, error) == (1, 200, None)
    assert isinstance(response_ms, float) and response_ms < 4000.0  # the stop is not the site's time


def test_a_monitor_stopped_for_seconds_says_so_as_it_runs_again_and_its_reports_do_not_count_the_stop_as_covered(
        tmp_path: Path, server: LocalServer) -> None:
    # A `kill -STOP` of 90 s was said nowhere but in the count of skipped ticks at the monitor's stop, and the reports
    # after it said "(1m40s of it covered)" of a window that held 10 s of probes.
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": server.url("/ok"), "checkInterval": INTERVAL}],
                                  "reports": [{"every": 1, "windows": [3]}]}))
    app = monitor(config, tmp_path / "m.db")
    # With --silent it was said nowhere at all: a service's journal never heard of the gap in its data.
    quiet = monitor(config, tmp_path / "quiet.db", "--silent")
    try:
        app.wait_for_line(lambda text: re.fullmatch(r"== past 3s at \S+ ==", text) is not None, 10)  # all covered
        wait_until(lambda: rows(tmp_path / "quiet.db", "SELECT 1 FROM website_monitoring"), 10, "a probe stored",
                   alive=quiet)
        for stopped_app in (app, quiet):
            stopped_app.process.send_signal(signal.SIGSTOP)
        try:
            time.sleep(5.0)  # the stop itself
        finally:
            for stopped_app in (app, quiet):
                stopped_app.process.send_signal(signal.SIGCONT)
        _, said = app.wait_for_line(lambda text: text.startswith("no check made from "), 8)
        told = app.output().index(said)
        _, title = app.wait_for_line(lambda text: text.startswith("== past 3s at "), 8, start=told + 1)
        said_quietly = wait_until(lambda: re.search(r"^no check made from .*$", quiet.stderr(), re.MULTILINE), 8,
                                  "the stall on stderr", alive=quiet)[0]
        assert app.stop(signal.SIGTERM)[0] == 0
        assert quiet.stop(signal.SIGTERM)[0] == 0
    finally:
        app.kill()
        quiet.kill()
    assert quiet.output() == []
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    stopped = re.fullmatch(rf"no check made from ({stamp}) to ({stamp}) \((\d)s\): the monitor did not run "
                           r"\(stopped, its VM paused or its host starved\); the checks due meanwhile are skipped, "
                           "not made up", said)
    assert stopped, said
    assert 4.0 <= parse_iso(stopped[2]) - parse_iso(stopped[1]) <= 5.0  # the ticks the 1 s clock missed
    stopped_quietly = re.fullmatch(rf"no check made from ({stamp}) to ({stamp}) \((\d)s\): the monitor did not run .*",
                                   said_quietly)
    assert stopped_quietly, said_quietly
    assert 4.0 <= parse_iso(stopped_quietly[2]) - parse_iso(stopped_quietly[1]) <= 5.0
    # The first report after it: the window's part since the monitor ran again.
    assert re.fullmatch(rf"== past 3s at {stamp} \([0-2]s of it covered\) ==", title), title


def test_a_restart_probes_at_once_and_loads_the_stored_hour_into_its_reports_in_the_background(
        tmp_path: Path, server: LocalServer) -> None:
    url, db, metrics = server.url("/health"), tmp_path / "m.db", tmp_path / "metrics.json"
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": url, "checkInterval": INTERVAL}], "alertWindow": 3,
                                  "reports": [{"every": 1, "windows": [3, 3600]}]}))
    # Forty minutes of stored probes, ending five minutes ago: all of them in the hour, none in the alert window.
    now = time.time()
    connection = open_for_writing(db)
    with connection:
        insert_events(connection, [Probe(whole_millis(now - 300 - t), url, t % 3 != 0, 200 if t % 3 else 503, 1.5)
                                   for t in range(2400, 0, -1)])
    connection.close()
    app = App("-m", "-c", str(config), "-db", str(db), "--metrics", str(metrics))
    try:
        line = app.wait_for_line(lambda text: text.startswith("== past 1h00m at "), 10)
        assert app.output()[0].endswith("restored 0 probe(s) of the past 3s and 0 alert state(s); "
                                        "the rest of the past loads meanwhile; Ctrl-C to stop")
        row = app.wait_for_line(lambda text: text.startswith(url), 5, start=app.lines.index(line) + 1)[1]
        assert int(row.split()[1]) > 2400  # the stored forty minutes and the probes since the start
        # ... so the report's data reaches back to the oldest of them, 45 minutes before the restart.
        assert re.fullmatch(r"== past 1h00m at \S+ \(45m0\ds of it covered\) ==", line[1]), line
        assert any(re.fullmatch(r"the past 59m57s is in the reports: 2,400 stored probe\(s\) in \d+\.\ds", text)
                   for text in app.output()), app.output()
        assert app.stop(signal.SIGTERM)[0] == 0
    finally:
        app.kill()
    figures = json.loads(metrics.read_text())
    assert figures["past"]["probes"] == 2400
    # --metrics asks for the ticks' lateness (kept for it only): there is a figure for the ticks run.
    assert figures["ticks"] > 0 and figures["lateness_ms"]["p50"] is not None


def test_a_file_without_rollups_says_on_a_non_terminal_that_it_rebuilds_them_before_monitoring_and_when_done(
        tmp_path: Path, server: LocalServer) -> None:
    """A file from before rollups (schema 2) is recounted before the first probe: minutes on a big file. With
    stderr not a terminal there is no bar, so a line says so as it begins, and another when it is done."""
    url, db = server.url("/health"), tmp_path / "m.db"
    now = time.time()
    connection = open_for_writing(db)
    with connection:
        insert_events(connection, [Probe(whole_millis(now - 600 + t), url, True, 200, 1.5) for t in range(300)])
        connection.execute("DROP TABLE website_rollups_minute")
        connection.execute("DROP TABLE website_rollups_hour")
        connection.execute("PRAGMA user_version = 2")
    connection.close()
    app = monitor(write_config(tmp_path / "c.json", url), db)
    try:
        wait_until(lambda: probe_count(db) > 300, 10, "a new probe", alive=app)
        code, stderr = app.stop()
    finally:
        app.kill()
    assert code == 0
    begun, done = stderr.splitlines()[:2]
    assert begun == f"rebuilding the rollups of {db} from its 300 stored probe rows, once, before monitoring starts"
    assert re.fullmatch(rf"rebuilt the rollups of {re.escape(str(db))} from 300 stored probes in \d+\.\ds", done)
    assert rows(db, "SELECT sum(checks) FROM website_rollups_hour")[0][0] == probe_count(db)


def test_a_restart_after_a_gap_in_an_outage_says_down_for_and_last_fail_from_before_the_loaded_hour(
        tmp_path: Path, server: LocalServer) -> None:
    """/fail last answered 3 h ago and failed from 2h30m to 2 h ago, then no monitor ran; /ok last failed 2 h
    ago. The restarted monitor says /fail is down for 2h30m and /ok last failed 2h00m ago, as a monitor that
    never stopped would from the same probes (the loaded hour alone would say a few seconds and none)."""
    down, up, db, config = server.url("/fail"), server.url("/ok"), tmp_path / "m.db", tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": down, "checkInterval": INTERVAL},
                                               {"URL": up, "checkInterval": INTERVAL}],
                                  "alertWindow": 3, "reports": [{"every": 1, "windows": [3]}]}))
    write_gap_outage(db, time.time(), down, up)
    app = monitor(config, db)
    try:
        start = app.lines.index(app.wait_for_line(lambda text: text.startswith("== past 3s at "), 10)) + 1
        report = {row.split()[0]: row.split()[-2:] for row in (
            app.wait_for_line(lambda text, url=url: text.startswith(url), 5, start)[1] for url in (down, up))}
        assert report[down][0] == "2h30m" and re.fullmatch(r"\ds", report[down][1]), report
        assert report[up] == ["-", "2h00m"], report
        assert app.stop(signal.SIGTERM)[0] == 0
    finally:
        app.kill()


def test_a_monitor_killed_mid_fill_leaves_no_process_reading_its_past_behind(tmp_path: Path,
                                                                               server: LocalServer) -> None:
    url, db, config = server.url("/health"), tmp_path / "m.db", tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": url, "checkInterval": 1}],
                                  "reports": [{"every": 60, "windows": [3600]}]}))
    # 150,000 probes in the hour before the start (2.4 MB of columns, more than the pipe holds): read in a child
    # process, which cannot have written them all when the monitor is stopped, then killed.
    connection = open_for_writing(db)
    with connection:
        connection.execute("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 149999) "
                           "INSERT INTO website_monitoring (timestamp, host, available, status, responseTime, "
                           "location) SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ? + i * 0.02, 'unixepoch'), ?, 1, "
                           "200, 1.5, 'local' FROM n", (time.time() - 3400, url))
    rebuild(connection)  # its rollups, as the monitor would have written them: not rebuilt at the start
    connection.close()
    app = monitor(config, db)
    try:
        (child,) = wait_until(lambda: past_readers(app.process.pid), 10, "the process reading the past", step=0.01,
                              alive=app)
        app.process.send_signal(signal.SIGSTOP)  # it takes no more pages: the child waits on a full pipe
        assert process_state(child) not in ("", "Z")  # still reading or writing
        app.process.kill()  # kill -9, as the OOM killer would
        app.process.wait(5)
        wait_until(lambda: process_state(child) in ("", "Z"), 5, "the child to exit")  # gone, or never reaped
    finally:
        app.kill()


def past_readers(pid: int) -> list[int]:
    """The children of `pid` that read a restart's past."""
    found = []
    for child in children(pid):
        with contextlib.suppress(OSError):
            if b"store.sqlite.history" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
    return found


def process_state(pid: int) -> str:
    """The state letter of `pid` (stat(5)), or "" once it has gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return text[text.rindex(")") + 2]


def test_a_relative_ca_file_is_in_the_config_files_folder_wherever_the_monitor_is_started(tmp_path: Path) -> None:
    # `-m -c /etc/monitoringapp/config.json` run from elsewhere: caFile "ca.pem" is the one beside config.json.
    ca = trustme.CA()
    folder = tmp_path / "etc"
    elsewhere = tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    with local_server(tls=context) as server:
        url = server.url("/ok")
        config = folder / "config.json"
        config.write_text(json.dumps({"websites": [{"URL": url, "checkInterval": INTERVAL, "caFile": "ca.pem"}]}))
        db = tmp_path / "m.db"
        app = App("-m", "--silent", "-c", str(config), "-db", str(db), cwd=elsewhere)
        try:
            wait_until(lambda: probe_count(db) >= 1, 8, "a probe row", alive=app)
        finally:
            assert app.stop() == (0, "")
    assert rows(db, "SELECT available, status FROM website_monitoring LIMIT 1") == [(1, 200)]
    (folder / "ca.pem").unlink()
    result = run_app("-m", "-c", str(config), "-db", str(db), timeout=20, cwd=elsewhere)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"monitoringApp: error: {config}: websites[0].caFile: file not found at "
                             f"{folder / 'ca.pem'} (a relative caFile is in the config file's folder), got 'ca.pem'\n")

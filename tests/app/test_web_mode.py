"""`-w` as a user runs it: it serves while the database does not exist yet (and says so again when it is
deleted), says how it is reachable, stops on Ctrl-C with status 0; the config's sites follow its file as `-m`'s do
(polled, and at once on SIGHUP), SIGHUP reads the auth file again, and serving goes on; a bad auth file or a taken
port is one line and status 2."""

from __future__ import annotations

import base64
import json
import re
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from reactivex.testing import ReactiveTest, TestScheduler
from werkzeug.security import generate_password_hash

from bench.processes import App, wait_until
from monitoringapp.app.cli import main
from monitoringapp.app.web_mode import SitesNews, shown_sites, sites_change, sites_news, stop_serving
from monitoringapp.domain.events import Probe
from monitoringapp.domain.sites import site_id
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.config_file import read_config
from monitoringapp.streams.config_watch import config_updates
from monitoringapp.web.board import SiteSpec


@pytest.mark.slow
def test_web_mode_serves_before_any_monitor_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    # A probe's secret (a header's ${NAME}, a caFile) is the monitor's: -w starts without it.
    config.write_text('{"websites": [{"URL": "http://shop.test/", "caFile": "/nowhere/ca.pem",'
                      ' "headers": {"Authorization": "Bearer ${MONITORINGAPP_UNSET_TOKEN}"}}]}')
    app = App("-w", "-c", str(config), "-db", str(tmp_path / "later.db"), "--listen", "127.0.0.1:0")
    try:
        _, line = app.wait_for_line(lambda text: text.startswith("serving "), timeout=20)
        assert "(loopback only, no authentication)" in line
        port = re.search(r":(\d+)/", line).group(1)  # type: ignore[union-attr]
        app.wait_for_line(lambda text: "waiting for" in text, timeout=10)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            page = response.read().decode()
        assert "http://shop.test/" in page and ">No data<" in page and "waiting for" in page
        site_page = f"http://127.0.0.1:{port}/site/{site_id('http://shop.test/')}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(site_page, timeout=10)
        with refused.value as answer:
            assert (answer.code, answer.headers.get_content_type()) == (503, "text/html")
            assert "waiting for" in answer.read().decode(), "a page a browser shows, saying why"

        def page() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
                return str(response.read().decode())

        # A monitor's database comes, then is deleted under -w: the page and the console say so, as -a does.
        database = tmp_path / "later.db"
        writer = SqliteEventLog(database, flush_interval=0.01)
        writer.append_probe(Probe(time.time(), "http://shop.test/", True, 200, 2.0))
        writer.close()
        wait_until(lambda: ">Up<" in (text := page()) and "waiting for" not in text, 10, "the site up, no notice")
        with urllib.request.urlopen(site_page, timeout=10) as response:
            assert response.status == 200, "the site's page once the database is there, -w not restarted"
        told = len(app.lines)
        for made in tmp_path.glob("later.db*"):
            made.unlink()
        app.wait_for_line(lambda text: text == f"waiting for {database} to be created by a monitor (-m)", 10,
                          start=told)
        assert f'<p class="notice">waiting for {database} to be created by a monitor (-m)</p>' in page()
    finally:
        status, stderr = app.stop(signal.SIGINT)
    assert (status, stderr) == (0, ""), stderr  # the whole of it, should a traceback come


@pytest.mark.slow
def test_ctrl_c_while_a_browser_follows_the_live_events_stops_cleanly(tmp_path: Path) -> None:
    """The status page open in a browser holds /events open: Ctrl-C ends that stream, and its worker wakes the
    server once done. With the server closed first, that wake was a traceback on stderr at every such stop."""
    config = tmp_path / "config.json"
    config.write_text('{"websites": [{"URL": "http://shop.test/"}]}')
    app = App("-w", "-c", str(config), "-db", str(tmp_path / "m.db"), "--listen", "127.0.0.1:0")
    browser: socket.socket | None = None
    try:
        port = app.serving_port()
        browser = socket.create_connection(("127.0.0.1", port), timeout=10)
        browser.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
        assert browser.recv(100).startswith(b"HTTP/1.1 200 ")
        status, stderr = app.stop(signal.SIGINT)  # the stream still open
    finally:
        app.kill()
        if browser is not None:
            browser.close()
    assert (status, stderr) == (0, ""), stderr  # the whole of it, should a traceback come


def basic_auth(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def status_as(port: int, user: str, password: str) -> int:
    """The status of the page asked for as `user`: 200, or 401 for credentials the auth file does not hold."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/sites")
    request.add_unredirected_header("Authorization", basic_auth(user, password)["Authorization"])
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code


@pytest.mark.slow
def test_sighup_reads_the_auth_file_again_refuses_one_that_cannot_be_used_and_serving_goes_on(tmp_path: Path) -> None:
    # SIGHUP (a service manager's reload) killed it, exit 129: the page went down for everyone.
    users = tmp_path / "users.txt"
    users.write_text(f"alice:{generate_password_hash('a-pass', method='pbkdf2:sha256')}\n")
    config = tmp_path / "config.json"
    config.write_text('{"websites": [{"URL": "http://shop.test/"}]}')
    app = App("-w", "-c", str(config), "-db", str(tmp_path / "m.db"), "--listen", "127.0.0.1:0",
              "--auth-file", str(users))
    try:
        port = app.serving_port()
        assert (status_as(port, "alice", "a-pass"), status_as(port, "bob", "b-pass")) == (200, 401)
        users.write_text(f"bob:{generate_password_hash('b-pass', method='pbkdf2:sha256')}\n")  # alice leaves
        config.write_text('{"websites": [{"URL": "http://shop.test/"}, {"URL": "http://new.test/"}]}')
        app.process.send_signal(signal.SIGHUP)  # both in one
        wait_until(lambda: "auth file reloaded" in app.stderr(), 10, "the reload said", alive=app)
        assert (status_as(port, "alice", "a-pass"), status_as(port, "bob", "b-pass")) == (401, 200)
        users.write_text("bob:plaintext\n")
        app.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "auth file rejected" in app.stderr(), 10, "the refusal said", alive=app)
        assert status_as(port, "bob", "b-pass") == 200, "the running users stay in force"
    finally:
        status, stderr = app.stop(signal.SIGTERM)
    assert (status, stderr.splitlines()) == (0, [
        "config reloaded: sites +1 (http://new.test/)",  # the config first (a poll may have read it before)
        f"auth file reloaded: {users}: 1 user(s)",
        # The config unchanged since: nothing about it, as -m says nothing of a SIGHUP that finds no new version.
        f"auth file rejected: {users}:1: user 'bob': not a salted scrypt or pbkdf2 hash (make one with python -m "
        "monitoringapp.web.passwords USER); the running users stay in force"])


@pytest.mark.slow
def test_a_user_the_reloaded_auth_file_removes_is_cut_from_the_live_events_she_had_open(tmp_path: Path) -> None:
    # She was refused at every new request, but her open page's live events went on for up to 5 minutes (a
    # stream's life): every stream ends at a reload of the auth file, and a page's next one is authenticated again.
    users = tmp_path / "users.txt"
    users.write_text(f"alice:{generate_password_hash('a-pass', method='pbkdf2:sha256')}\n")
    app = App("-w", "-db", str(tmp_path / "m.db"), "--listen", "127.0.0.1:0", "--auth-file", str(users))
    try:
        port = app.serving_port()
        live = urllib.request.Request(f"http://127.0.0.1:{port}/events", headers=basic_auth("alice", "a-pass"))
        with urllib.request.urlopen(live, timeout=10) as alices_stream:
            assert alices_stream.readline().startswith(b"retry: ")
            users.write_text(f"bob:{generate_password_hash('b-pass', method='pbkdf2:sha256')}\n")
            app.process.send_signal(signal.SIGHUP)
            wait_until(lambda: "auth file reloaded" in app.stderr(), 10, "the reload said", alive=app)
            # Read to its end, which comes at once; else a timeout (10 s, before the stream's first keepalive).
            assert alices_stream.read() == b": connected\n\n"
        assert status_as(port, "alice", "a-pass") == 401
    finally:
        status, stderr = app.stop(signal.SIGTERM)
    assert (status, stderr) == (0, f"auth file reloaded: {users}: 1 user(s)\n")


@pytest.mark.slow
def test_sighup_without_a_config_or_an_auth_file_says_there_is_nothing_to_reload_and_serving_goes_on(
        tmp_path: Path) -> None:
    app = App("-w", "-db", str(tmp_path / "m.db"), "--listen", "127.0.0.1:0", cwd=tmp_path)
    try:
        port = app.serving_port()
        app.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "nothing to reload" in app.stderr(), 10, "the SIGHUP said", alive=app)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/sites", timeout=10) as response:
            assert response.status == 200
    finally:
        status, stderr = app.stop(signal.SIGTERM)
    assert (status, stderr) == (0, "SIGHUP: nothing to reload (no config, no --auth-file); serving on\n")


def api_sites(port: int) -> list[tuple[str, str | None, str]]:
    """(url, name, state) of each site `/api/v1/sites` gives, in its order."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/sites", timeout=10) as response:
        return [(site["url"], site["name"], site["state"]) for site in json.load(response)["sites"]]


@pytest.mark.slow
def test_sighup_shows_the_sites_of_the_config_read_again_with_their_past_and_refuses_a_bad_one(tmp_path: Path) -> None:
    """An operator adds a site to the config the monitor probes and reloads both: the page showed the old list
    until a restart."""
    database, config = tmp_path / "m.db", tmp_path / "config.json"
    now = time.time()
    writer = SqliteEventLog(database, flush_interval=0.01)
    for site in ("http://shop.test/", "http://api.test/", "http://blog.test/"):
        writer.append_probe(Probe(now - 5, site, site != "http://api.test/", 200, 2.0))
    writer.close()
    config.write_text('{"websites": [{"URL": "http://shop.test/"}, {"URL": "http://blog.test/"}]}')
    app = App("-w", "-c", str(config), "-db", str(database), "--listen", "127.0.0.1:0")
    try:
        port = app.serving_port()
        wait_until(lambda: api_sites(port) == [("http://shop.test/", None, "up"), ("http://blog.test/", None, "up")],
                   10, "the sites at start", alive=app)
        config.write_text('{"websites": [{"URL": "http://shop.test/", "name": "shop", "checkInterval": 5},'
                          ' {"URL": "http://api.test/"}]}')
        app.process.send_signal(signal.SIGHUP)
        # api.test's past is the log's: its last probe failed. shop renamed is a new series: no data under its name.
        changed = [("http://api.test/", None, "down"), ("http://shop.test/", "shop", "nodata")]
        wait_until(lambda: api_sites(port) == changed, 10, "the new list", alive=app)
        config.write_text('{"websites": [{"URL": "http://shop.test/", "checkInterval": 0}]}')
        app.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "config rejected" in app.stderr(), 10, "the refusal", alive=app)
        assert api_sites(port) == changed, "the running list stays"
    finally:
        status, stderr = app.stop(signal.SIGTERM)
    assert (status, stderr.splitlines()) == (0, [
        "config reloaded: sites +2 (shop, http://api.test/), -2 (http://shop.test/, http://blog.test/)",
        f"config rejected: {config}: websites[0].checkInterval: must be a finite number > 0, got 0; the sites shown "
        "stay as they are"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "m.db"], "nothing written"


@pytest.mark.slow
def test_a_saved_config_shows_on_the_page_without_a_signal_and_a_broken_one_is_refused_once(tmp_path: Path) -> None:
    """An operator edits the config -m and -w share: -m probed the new site at once, the page showed it only after
    a SIGHUP to -w."""
    database, config = tmp_path / "m.db", tmp_path / "config.json"
    writer = SqliteEventLog(database, flush_interval=0.01)
    for site in ("http://shop.test/", "http://api.test/"):
        writer.append_probe(Probe(time.time() - 5, site, site == "http://shop.test/", 200, 2.0))
    writer.close()
    config.write_text('{"websites": [{"URL": "http://shop.test/"}]}')
    app = App("-w", "-c", str(config), "-db", str(database), "--listen", "127.0.0.1:0")
    try:
        port = app.serving_port()
        wait_until(lambda: api_sites(port) == [("http://shop.test/", None, "up")], 10, "the site at start", alive=app)
        config.write_text('{"websites": [{"URL": "http://shop.test/"}, {"URL": "http://api.test/"}]}')
        both = [("http://api.test/", None, "down"), ("http://shop.test/", None, "up")]
        wait_until(lambda: api_sites(port) == both, 10, "the added site, with its past, no signal sent", alive=app)
        config.write_text('{"websites": [{"URL": "http://api.test/", "checkInterval": 0}]}')
        wait_until(lambda: "config rejected" in app.stderr(), 10, "the refusal", alive=app)
        assert api_sites(port) == both, "the running list stays"
        config.write_text('{"websites": [{"URL": "http://api.test/"}]}')
        wait_until(lambda: api_sites(port) == [("http://api.test/", None, "down")], 10, "the list of the file valid "
                   "again", alive=app)
    finally:
        status, stderr = app.stop(signal.SIGTERM)
    assert (status, stderr.splitlines()) == (0, [
        "config reloaded: sites +1 (http://api.test/)",
        f"config rejected: {config}: websites[0].checkInterval: must be a finite number > 0, got 0; the sites shown "
        "stay as they are",
        f"{config} is valid again",
        "config reloaded: sites -1 (http://shop.test/)"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "m.db"], "nothing written"


def waitress_server() -> tuple[Any, dict[int, Any]]:
    """A real waitress server on a free loopback port, one worker, answering "ok", not yet running; and its loop's
    map, as `-w` makes them for `stop_serving`."""
    from waitress.server import create_server

    def answer(environ: dict[str, object], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    sockets: dict[int, Any] = {}
    return create_server(answer, map=sockets, host="127.0.0.1", port=0, threads=1), sockets


def test_a_stop_before_the_servers_loop_comes_round_closes_nothing_from_the_stopping_thread() -> None:
    """The stop closes a server's sockets on its loop's thread only. It used to close them from the stopping thread
    when the loop had not ended within 3 s (a loaded machine): at the same moment as the loop's own close, that
    could close the trigger's pipe twice. A stop that exited 1 with an EBADF traceback was seen once in .ci/run
    under heavy load; this double close is the one the stop path's reading found."""
    server, sockets = waitress_server()
    release = threading.Event()

    def a_loop_slow_to_come_round() -> None:  # as on a loaded machine: the thunk waits for the loop's next turn
        release.wait(10)
        server.run()

    serving = threading.Thread(target=a_loop_slow_to_come_round, name="waitress", daemon=True)
    serving.start()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
    try:
        assert stop_serving(server, sockets, serving, wait=0.2) is False, "the loop has not come round"
        assert server.socket is not None and len(sockets) == 2, "nothing closed from this thread meanwhile"
    finally:
        release.set()
    serving.join(10)
    assert not serving.is_alive() and not sockets, "the loop took the thunk, closed its sockets and ended"
    assert server.socket is None, "closed by the loop"
    server.trigger.close()  # the stop gave up on the loop before it ended: the trigger's pipe is left to the exit


def test_a_wake_on_its_way_that_runs_the_stops_thunk_first_leaves_the_pipe_open_for_the_stops_own_pull() -> None:
    """`pull_trigger` queues its thunk, then writes to the trigger's pipe; a wake already on its way (a worker done
    with the page's live events) can get the loop to run the thunk before that write. The stop's thunk closed the
    pipe with everything else: the write failed with EBADF, a traceback and exit 1 at a stop (caught under strace on a
    loaded machine, the 13th stop of a series). Here that order is forced: the first write is the wake on its way."""
    server, sockets = waitress_server()
    trigger = server.trigger
    write = trigger._physical_pull
    open_at_the_stops_write: list[bool] = []

    def a_wake_first_then_the_stops_write() -> None:
        write()  # the wake on its way: the loop runs the thunk the stop has just queued
        wait_until(lambda: not trigger.thunks, 10, "the loop to run the stop's thunk")
        open_at_the_stops_write.append(not trigger._closed)
        if not trigger._closed:  # closed, its descriptor number could be another file's by now: no write
            write()

    trigger._physical_pull = a_wake_first_then_the_stops_write
    serving = threading.Thread(target=server.run, name="waitress", daemon=True)
    serving.start()
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=2)
    assert stop_serving(server, sockets, serving, wait=10) is True, "the loop ended"
    assert open_at_the_stops_write == [True], "the pipe was still open for the stop's own write"
    assert not sockets and server.socket is None and trigger._closed, "everything closed once the loop had ended"


def test_a_reload_says_the_sites_it_adds_removes_and_changes_by_their_keys() -> None:
    old = [SiteSpec("http://a.test/", 10.0), SiteSpec("shop", 10.0, "shop", "http://s.test/"),
           SiteSpec("http://c.test/", 10.0)]
    new = [SiteSpec("shop", 10.0, "shop", "http://s2.test/"), SiteSpec("http://c.test/", 30.0),
           SiteSpec("http://d.test/", 10.0)]
    assert sites_change("c.json", old, new) == ("sites +1 (http://d.test/), -1 (http://a.test/), "
                                                "~2 (shop: URL; http://c.test/: checkInterval)")
    assert sites_change("c.json", old, old[::-1]) == "c.json: sites reordered"
    assert sites_change("c.json", old, list(old)) is None, "nothing the page shows"


class FollowedSites:
    """The page's view of a config file's updates (`config_updates`, as -w reads it, piped to `sites_news`),
    polled every 0.5 s on a TestScheduler from t=0, with SIGHUP's pokes at `pokes`: (time, lines, URLs shown)."""

    def __init__(self, path: Path, pokes: tuple[float, ...] = ()) -> None:
        self.scheduler = TestScheduler()
        self.news: list[tuple[float, tuple[str, ...], list[str] | None]] = []
        running = read_config(path, probing=False)
        hups = self.scheduler.create_hot_observable(*(ReactiveTest.on_next(t, None) for t in pokes))

        def record(news: SitesNews) -> None:
            urls = None if news.sites is None else [spec.url or spec.host for spec in news.sites]
            self.news.append((self.scheduler.clock, news.lines, urls))

        updates = config_updates(path, self.scheduler, every=0.5, pokes=hups, running=running, probing=False)
        updates.pipe(sites_news(str(path), shown_sites(running))).subscribe(record)

    def at(self, time: float) -> None:
        self.scheduler.advance_to(time)


def test_the_sites_shown_follow_the_config_file_each_change_said_once_and_a_new_threshold_says_nothing(
        tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"websites": [{"URL": "http://shop.test/"}]}')
    follow = FollowedSites(path, pokes=(6.3,))
    follow.at(1.2)
    path.write_text('{"websites": [{"URL": "http://shop.test/"}, {"URL": "http://api.test/"}]}')
    follow.at(2.2)
    path.write_text('{"websites": [{"URL": "http://shop.test/"}, {"URL": "http://api.test/"}], "alertThreshold": 0.5}')
    follow.at(3.2)
    path.write_text('{"websites": [{"URL": "http://shop.test/", "checkInterval": 0}]}')
    follow.at(7.2)  # polls from 3.5 to 7.0 and a SIGHUP at 6.3 find it still broken
    path.write_text('{"websites": [{"URL": "http://api.test/"}], "alertTreshold": 0.5}')
    follow.at(10)
    assert follow.news == [
        (1.5, ("config reloaded: sites +1 (http://api.test/)",), ["http://shop.test/", "http://api.test/"]),
        (4.0, (f"config rejected: {path}: websites[0].checkInterval: must be a finite number > 0, got 0; the sites "
               "shown stay as they are",), None),
        (7.5, (f"{path} is valid again",), None),
        (7.5, (f"warning: {path}: top level: unknown key(s) ignored: alertTreshold",
               "config reloaded: sites -1 (http://shop.test/)"), ["http://api.test/"])]


def test_a_sighup_reads_the_config_file_at_once_between_polls(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"websites": [{"URL": "http://shop.test/"}]}')
    follow = FollowedSites(path, pokes=(1.3, 2.3))
    follow.at(1.2)
    path.write_text('{"websites": [{"URL": "http://shop.test/", "name": "shop"}]}')
    follow.at(3)
    assert follow.news == [(1.3, ("config reloaded: sites +1 (shop), -1 (http://shop.test/)",), ["http://shop.test/"])]


def test_an_auth_file_without_salted_hashes_is_one_line_and_exit_2(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# who may look\nalice:plaintext\n")
    assert main(["-w", "-db", str(tmp_path / "m.db"), "--listen", "0.0.0.0:0", "--auth-file", str(users)]) == 2
    err = capsys.readouterr().err
    assert err == (f"monitoringApp: error: --auth-file: {users}:2: user 'alice': not a salted scrypt or pbkdf2 hash "
                   "(make one with python -m monitoringapp.web.passwords USER)\n")
    assert not (tmp_path / "m.db").exists()


def test_a_port_already_taken_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["-w", "-db", str(tmp_path / "m.db"), "--listen", f"127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"monitoringApp: error: --listen 127.0.0.1:{port}: cannot listen: ") and err.count("\n") == 1


def test_a_file_that_is_no_database_is_one_line_and_exit_2_before_serving(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_database = tmp_path / "config.json"
    not_a_database.write_text('{"websites": [{"URL": "http://shop.test/"}]}')
    assert main(["-w", "-db", str(not_a_database), "--listen", "127.0.0.1:0"]) == 2
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"monitoringApp: error: {not_a_database}: cannot use as a monitoringApp database: "
                              "file is not a database\n"), "no 'serving ...' line: it never served"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]

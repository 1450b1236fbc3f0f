"""The notifier's figures (real processes): transitions per second delivered to a local webhook, a commit to its
delivery, what `-a --notify` costs while nothing happens (CPU share of one core, memory), beside `-a`, and what
a restart reads again for a channel whose `sites` pass few transitions.

Run from the repo root: `.venv/bin/python -m bench.notify [runs]`. Prints medians of `runs` (default 3).
"""

from __future__ import annotations

import json
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.processes import App, wait_until
from bench.procstat import cpu_seconds, peak_rss_mb
from bench.webhook_receiver import WebhookReceiver
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.store.log import Cursor
from monitoringapp.store.sqlite.delivery_state import SqliteDeliveryState
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing

BURST = 5000
IDLE_SECONDS = 20.0
PASSED_OVER = 200_000


def transitions(n: int) -> list[AlertTransition]:
    now = time.time()
    return [AlertTransition(now, f"http://site{k}.test/", TransitionKind.ALERT, 0.5, now) for k in range(n)]


def started_notifier(tmp: Path, receiver: WebhookReceiver, sites: list[str] | None = None) -> tuple[App, Path]:
    db = tmp / "m.db"
    connection = open_for_writing(db)
    insert_events(connection, [Probe(time.time(), "http://site0.test/", True, 200, 1.0)])  # a monitor is alive
    connection.close()
    config = tmp / "config.json"
    config.write_text(json.dumps({"websites": [{"URL": "http://site0.test/", "checkInterval": 60}],
                                  "notifications": [{"url": receiver.url(), "name": "hook",
                                                     **({"sites": sites} if sites else {})}]}))
    app = App("-a", "--notify", "-c", str(config), "-db", str(db))
    app.wait_for_line(lambda text: text.startswith("channel hook: new"), timeout=30)
    return app, db


def delivery_rate() -> float:
    """Transitions per second: BURST alerts committed at once, until the receiver has every one."""
    receiver = WebhookReceiver()
    with tempfile.TemporaryDirectory() as tmp:
        app, db = started_notifier(Path(tmp), receiver)
        connection = open_for_writing(db)
        connection.execute("BEGIN")
        insert_events(connection, [], transitions(BURST))
        connection.execute("COMMIT")
        committed = time.monotonic()
        connection.close()
        wait_until(lambda: len(receiver.received) >= BURST, 120, "the whole burst", step=0.01, alive=app)
        elapsed = receiver.received[-1].arrived - committed
        app.stop(signal.SIGINT)
    receiver.stop()
    return BURST / elapsed


def bare_post_rate(posts: int = 2000) -> float:
    """POSTs per second of a bare `requests` loop to the same receiver: the floor the notifier's rate sits on."""
    receiver = WebhookReceiver()
    session = requests.Session()
    start = time.perf_counter()
    for n in range(posts):
        session.post(receiver.url(), json={"n": n}, headers={"Idempotency-Key": str(n)}, timeout=10).close()
    elapsed = time.perf_counter() - start
    session.close()
    receiver.stop()
    return posts / elapsed


def commit_to_delivery() -> float:
    """Seconds from one alert's commit to its POST arriving."""
    receiver = WebhookReceiver()
    with tempfile.TemporaryDirectory() as tmp:
        app, db = started_notifier(Path(tmp), receiver)
        time.sleep(0.6)  # off the poll grid
        connection = open_for_writing(db)
        insert_events(connection, [], transitions(1))
        committed = time.monotonic()
        connection.close()
        wait_until(lambda: receiver.received, 10, "the delivery", step=0.005, alive=app)
        app.stop(signal.SIGINT)
    receiver.stop()
    return receiver.received[0].arrived - committed


def idle_cost(*mode: str) -> tuple[float, float]:
    """(share of one core, peak RSS MB) of `-a` or `-a --notify` over IDLE_SECONDS with nothing stored."""
    receiver = WebhookReceiver()
    with tempfile.TemporaryDirectory() as tmp:
        app, db = started_notifier(Path(tmp), receiver)
        app.stop(signal.SIGINT)
        app = App(*mode, "-c", str(Path(tmp) / "config.json"), "-db", str(db))
        time.sleep(2.0)  # started and settled
        before, start = cpu_seconds(app.process.pid), time.monotonic()
        time.sleep(IDLE_SECONDS)
        used, elapsed = cpu_seconds(app.process.pid) - before, time.monotonic() - start
        rss = peak_rss_mb(app.process.pid)
        app.stop(signal.SIGINT)
    receiver.stop()
    return used / elapsed, rss


def restart_reread() -> tuple[int, float, int, float]:
    """A channel for one site delivers its alert, then PASSED_OVER transitions of another site are stored; it is
    stopped. (rows after its stored place, seconds to read them: what a restart reads again; the same from its
    last delivery, where its place stayed before it moved over what it passes over.)"""
    receiver = WebhookReceiver()
    with tempfile.TemporaryDirectory() as tmp:
        app, db = started_notifier(Path(tmp), receiver, sites=["http://site0.test/"])
        now = time.time()
        connection = open_for_writing(db)
        insert_events(connection, [], [AlertTransition(now, "http://site0.test/", TransitionKind.ALERT, 0.5, now),
                                       *(AlertTransition(now + k / 1000, "http://other.test/", TransitionKind.ALERT,
                                                         0.5, now) for k in range(PASSED_OVER))])
        connection.close()
        wait_until(lambda: receiver.received, 30, "the site's alert", alive=app)
        time.sleep(6.0)  # read (20,000 a poll), and the place moved (at once, then at most every 5 s)
        app.stop(signal.SIGINT)
        state = SqliteDeliveryState(Path(tmp) / "m-notify.db")
        stored = state.progress()["hook"].cursor
        state.close()
        reader = SqliteLogReader(db)
        last_delivery = reader.transition_entries_after(Cursor(stored.log, 1, None), 1).events[0].cursor
        reader.close()
        after_place, after_delivery = _read_to_end(db, stored), _read_to_end(db, last_delivery)
    receiver.stop()
    return (*after_place, *after_delivery)


def _read_to_end(db: Path, cursor: Cursor) -> tuple[int, float]:
    """(rows, seconds): the log read from `cursor` to its end, as the notifier reads it (pages of 2,000)."""
    reader = SqliteLogReader(db)
    start, rows = time.perf_counter(), 0
    while True:
        page = reader.transition_entries_after(cursor, 2000)
        rows += len(page.events)
        if page.cursor == cursor or len(page.events) < 2000:
            break
        cursor = page.cursor
    elapsed = time.perf_counter() - start
    reader.close()
    return rows, elapsed


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    rates = [delivery_rate() for _ in range(runs)]
    print(f"{BURST} transitions committed at once -> delivered to a local webhook (one POST each, a state commit "
          f"each): median {statistics.median(rates):,.0f}/s over {runs} runs (min {min(rates):,.0f}/s)")
    bare = [bare_post_rate() for _ in range(runs)]
    print(f"the same receiver, a bare requests.Session.post loop: median {statistics.median(bare):,.0f}/s")
    delays = [commit_to_delivery() for _ in range(runs)]
    print(f"one alert committed -> POST received: median {statistics.median(delays) * 1000:.0f} ms "
          f"(max {max(delays) * 1000:.0f} ms)")
    rereads = [restart_reread() for _ in range(runs)]
    rows, seconds, rows_before, seconds_before = (statistics.median(r[i] for r in rereads) for i in range(4))
    print(f"a channel for one site, after {PASSED_OVER:,} transitions of another: a restart reads {rows:,.0f} rows "
          f"({seconds * 1000:.1f} ms) from its stored place; from its last delivery, where the place stayed before "
          f"it moved over what it passes over: {rows_before:,.0f} rows ({seconds_before * 1000:.0f} ms)")
    for name, mode in (("-a --notify", ("-a", "--notify")), ("-a (history viewer, for comparison)", ("-a",))):
        costs = [idle_cost(*mode) for _ in range(runs)]
        share = statistics.median(cost[0] for cost in costs)
        rss = statistics.median(cost[1] for cost in costs)
        print(f"{name}, idle {IDLE_SECONDS:.0f} s: {share * 100:.2f}% of one core, peak RSS {rss:.1f} MB")


if __name__ == "__main__":
    main()

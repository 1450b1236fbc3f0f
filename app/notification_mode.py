"""`-a`: the stored history of alerts and recoveries as a table, then each new one as monitors append it."""

from __future__ import annotations

import argparse
import signal
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TypeVar

from reactivex import Observable
from reactivex.scheduler import EventLoopScheduler

from domain.events import AlertTransition
from domain.timefmt import epoch_seconds, parse_age_or_date
from sinks.console import Console
from sinks.notification_console import AlertLog
from streams.stored_log import alert_history, alerts_after
from streams.stored_tail import LogFeed, follow_log

T = TypeVar("T")


def run_notifications(args: argparse.Namespace) -> int:
    clock = EventLoopScheduler()
    since = since_time(args.since, epoch_seconds(clock.now))
    console = Console()
    path = Path(args.database)
    site: str | None = args.site

    def history(connection: sqlite3.Connection) -> tuple[AlertTransition, ...]:
        return alert_history(connection, since, site)

    def after(connection: sqlite3.Connection, rowid: int) -> tuple[AlertTransition, ...]:
        return alerts_after(connection, rowid, site)

    log = AlertLog(console, f"-- following {path} for new alerts and recoveries; Ctrl-C to stop --")
    batches = follow_log(LogFeed("website_alerts", history, after), path, clock, notice=console.info)
    return run_until_stopped(batches, log.show, clock, console)


def since_time(text: str | None, now: float) -> float | None:
    """`--since`: an age (`2h`, `30m`) before `now`, or an ISO date or date-time (UTC unless a zone is given)."""
    from app.cli import UsageError

    if text is None:
        return None
    try:
        return parse_age_or_date(text, now)
    except ValueError:
        raise UsageError(f"--since: must be an age such as 2h or an ISO date such as 2026-11-24T12:00, "
                         f"got {text!r}") from None


def run_until_stopped(stream: Observable[T], on_next: Callable[[T], None], clock: EventLoopScheduler,
                      console: Console) -> int:
    """Run a reader's `stream` into `on_next` until SIGINT or SIGTERM, or `console`'s reader goes away
    (`-a | head`), exit 0; or until a store error (raised)."""
    stop = threading.Event()
    console.on_closed = stop.set
    failures: list[Exception] = []

    def on_error(error: Exception) -> None:
        failures.append(error)
        stop.set()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    subscription = stream.subscribe(on_next, on_error)
    while not stop.wait(0.5):
        pass
    subscription.dispose()
    clock.dispose()
    if failures:
        raise failures[0]
    return 0

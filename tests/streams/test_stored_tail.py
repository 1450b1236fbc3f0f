"""The stored-log tail against real SQLite files, its polls driven in virtual time (no sleeps)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from reactivex.testing import TestScheduler

from domain.events import AlertTransition, TransitionKind
from store.schema import StoreError, alert_row, open_store
from streams.stored_log import alert_history, alerts_after
from streams.stored_tail import LogFeed, LogFollower, follow_log

SITE, OTHER = "http://127.0.0.1:1/", "http://127.0.0.1:2/"
T0 = 1_790_000_000.0
ALERTS: LogFeed[AlertTransition] = LogFeed("website_alerts", alert_history, alerts_after)


def alert(n: int, host: str = SITE) -> AlertTransition:
    return AlertTransition(T0 + n, host, TransitionKind.ALERT, 0.5, start=T0 + n)


def append(db: sqlite3.Connection, *transitions: AlertTransition) -> None:
    db.executemany("INSERT INTO website_alerts VALUES (?, ?, ?, ?, ?, ?)", [alert_row(t) for t in transitions])


class Tail:
    """A subscribed tail of `path`: the batches and notices it gave, polled as virtual time advances."""

    def __init__(self, path: Path, feed: LogFeed[AlertTransition] = ALERTS) -> None:
        self.scheduler = TestScheduler()
        self.batches: list[tuple[AlertTransition, ...]] = []
        self.notices: list[str] = []
        self.errors: list[Exception] = []
        follow_log(feed, path, self.scheduler, 0.25, notice=self.notices.append).subscribe(
            self.batches.append, self.errors.append)

    def advance(self, seconds: float = 0.25) -> list[tuple[AlertTransition, ...]]:
        """The batches emitted while `seconds` of virtual time pass."""
        before = len(self.batches)
        self.scheduler.advance_by(seconds)
        return self.batches[before:]


def test_history_comes_first_then_each_commit_once_in_append_order(tmp_path: Path) -> None:
    db = open_store(tmp_path / "m.db")
    append(db, alert(2), alert(1))
    tail = Tail(tmp_path / "m.db")
    assert tail.advance(0.1) == [(alert(1), alert(2))]  # oldest first
    assert tail.advance(1.0) == []  # nothing committed: nothing emitted
    append(db, alert(5))
    append(db, alert(4), alert(6))
    assert tail.advance() == [(alert(5), alert(4), alert(6))]
    append(db, alert(7))
    assert tail.advance() == [(alert(7),)]
    assert tail.advance(1.0) == [] and tail.errors == []


def test_an_idle_poll_only_asks_data_version_and_reads_no_rows(tmp_path: Path) -> None:
    db = open_store(tmp_path / "m.db")
    append(db, alert(1))
    follower = LogFollower(ALERTS, tmp_path / "m.db", lambda batch: None, lambda error: None)
    follower.poll()
    for _ in range(20):
        follower.poll()
    assert (follower.polls, follower.reads) == (21, 1)
    append(db, alert(2))
    follower.poll()
    assert follower.reads == 2


def test_history_filters_by_site_and_since_and_the_tail_by_site(tmp_path: Path) -> None:
    db = open_store(tmp_path / "m.db")
    append(db, alert(1), alert(2, OTHER), alert(3), alert(4))
    feed = LogFeed("website_alerts", lambda c: alert_history(c, T0 + 3, SITE), lambda c, r: alerts_after(c, r, SITE))
    tail = Tail(tmp_path / "m.db", feed)
    assert tail.advance(0.1) == [(alert(3), alert(4))]
    append(db, alert(5, OTHER), alert(6))
    assert tail.advance() == [(alert(6),)]


def test_waits_for_the_database_to_be_created_saying_so_once(tmp_path: Path) -> None:
    tail = Tail(tmp_path / "m.db")
    assert tail.advance(1.0) == []
    assert tail.notices == [f"waiting for {tmp_path / 'm.db'} to be created by a monitor (-m)"]
    append(open_store(tmp_path / "m.db"), alert(1))
    assert tail.advance() == [(alert(1),)]
    assert not (tmp_path / "missing").exists() and tail.errors == []


def test_keeps_going_through_a_purge_and_a_vacuum_that_renumbers_rows(tmp_path: Path) -> None:
    db = open_store(tmp_path / "m.db")
    append(db, *(alert(n) for n in range(1, 11)))
    tail = Tail(tmp_path / "m.db")
    tail.advance(0.1)
    db.execute("DELETE FROM website_alerts WHERE timestamp < ?", (alert_row(alert(6))[0],))
    db.execute("VACUUM")  # rows 6..10 become 1..5
    assert tail.advance(1.0) == []
    append(db, alert(11))
    assert tail.advance() == [(alert(11),)]
    db.execute("DELETE FROM website_alerts")  # a purge of everything, then a monitor writes again
    append(db, alert(12))
    assert tail.advance() == [(alert(12),)]
    assert tail.errors == []


def test_a_database_file_replaced_by_a_new_one_is_followed_from_where_we_were(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = open_store(path)
    append(db, alert(1), alert(2))
    tail = Tail(path)
    tail.advance(0.1)
    db.close()
    for name in ("m.db", "m.db-wal", "m.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    fresh = open_store(path)
    append(fresh, alert(1), alert(2), alert(3))  # e.g. a restored copy that has gone on
    assert tail.advance() == [(alert(3),)]


def test_a_locked_database_is_retried_at_the_next_poll_without_error(tmp_path: Path) -> None:
    db = open_store(tmp_path / "m.db")
    append(db, alert(1))
    db.execute("PRAGMA journal_mode = DELETE")  # readers wait on writers only outside WAL
    tail = Tail(tmp_path / "m.db")
    tail.advance(0.1)
    db.execute("BEGIN EXCLUSIVE")
    append(db, alert(2))
    assert tail.advance(1.0) == []
    db.execute("COMMIT")
    assert tail.advance() == [(alert(2),)]
    assert tail.errors == []


def test_a_file_that_is_not_a_database_ends_the_stream_with_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_bytes(os.urandom(4096))
    tail = Tail(path)
    tail.advance(1.0)
    assert tail.batches == []
    assert len(tail.errors) == 1 and isinstance(tail.errors[0], StoreError)
    assert str(tail.errors[0]).startswith(f"{path}: cannot use as a monitoringApp database:")


def test_a_path_under_a_regular_file_ends_the_stream_with_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    path = tmp_path / "config.json" / "m.db"
    tail = Tail(path)
    tail.advance(1.0)
    assert (tail.batches, [str(error) for error in tail.errors]) == (
        [], [f"{path}: cannot use as a monitoringApp database: Not a directory"])
    assert all(isinstance(error, StoreError) for error in tail.errors)


def test_a_directory_ends_the_stream_with_a_store_error_rather_than_retrying_for_ever(tmp_path: Path) -> None:
    tail = Tail(tmp_path)
    tail.advance(1.0)
    assert (tail.batches, tail.notices) == ([], [])
    assert [str(error) for error in tail.errors] == [f"{tmp_path}: is not a file"]

"""The log followed in virtual time (no sleeps) over real SQLite files: history first, then each commit
once; waits said once; a log that cannot be used ends the stream."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from reactivex.testing import TestScheduler

from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing
from monitoringapp.streams.log_follow import Polled, follow_log
from monitoringapp.streams.log_tail import LogTail
from monitoringapp.streams.ticks import Tick, fixed_rate_ticks

SITE, OTHER = "http://127.0.0.1:1/", "http://127.0.0.1:2/"
T0 = 1_790_000_000.0


def alert(n: int, host: str = SITE) -> AlertTransition:
    return AlertTransition(T0 + n, host, TransitionKind.ALERT, 0.5, start=T0 + n)


def append(db: sqlite3.Connection, *transitions: AlertTransition) -> None:
    insert_events(db, [], transitions)


class Tail:
    """A followed log at `path`, polled every 0.25 s of virtual time: the batches, waits and errors it gave."""

    def __init__(self, path: Path, since: float | None = None, hosts: set[str] | None = None) -> None:
        self.scheduler = TestScheduler()
        self.reader = SqliteLogReader(path)
        self.batches: list[tuple[AlertTransition, ...]] = []
        self.notices: list[str] = []
        self.errors: list[Exception] = []

        def open_tail() -> LogTail[AlertTransition]:
            return LogTail(lambda: self.reader.transitions_since(since, hosts),
                           lambda cursor: self.reader.transitions_after(cursor, hosts), self.reader.close)

        fixed_rate_ticks(0.25, self.scheduler).pipe(follow_log(open_tail)).subscribe(self._on, self.errors.append)

    def _on(self, polled: Polled[Tick, AlertTransition]) -> None:
        news = polled[1]
        if news is not None and news.waiting is not None:
            self.notices.append(news.waiting)
        elif news is not None:
            self.batches.append(news.events)

    def advance(self, seconds: float = 0.25) -> list[tuple[AlertTransition, ...]]:
        """The batches emitted while `seconds` of virtual time pass."""
        before = len(self.batches)
        self.scheduler.advance_by(seconds)
        return self.batches[before:]


def test_history_comes_first_then_each_commit_once_in_append_order(tmp_path: Path) -> None:
    db = open_for_writing(tmp_path / "m.db")
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


def test_an_empty_history_is_told_once_too(tmp_path: Path) -> None:
    open_for_writing(tmp_path / "m.db").close()
    tail = Tail(tmp_path / "m.db")
    assert tail.advance(1.0) == [()]


def test_history_filters_by_site_and_since_and_the_tail_by_site(tmp_path: Path) -> None:
    db = open_for_writing(tmp_path / "m.db")
    append(db, alert(1), alert(2, OTHER), alert(3), alert(4))
    tail = Tail(tmp_path / "m.db", since=T0 + 3, hosts={SITE})
    assert tail.advance(0.1) == [(alert(3), alert(4))]
    append(db, alert(5, OTHER), alert(6))
    assert tail.advance() == [(alert(6),)]


def test_waits_for_the_database_to_be_created_saying_so_once(tmp_path: Path) -> None:
    tail = Tail(tmp_path / "m.db")
    assert tail.advance(1.0) == []
    assert tail.notices == [f"waiting for {tmp_path / 'm.db'} to be created by a monitor (-m)"]
    append(open_for_writing(tmp_path / "m.db"), alert(1))
    assert tail.advance() == [(alert(1),)]
    assert tail.errors == []


def test_a_file_that_is_not_a_database_ends_the_stream_with_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_text("these are my notes, not a database\n" * 100)
    tail = Tail(path)
    tail.advance(1.0)
    assert tail.batches == []
    assert len(tail.errors) == 1 and isinstance(tail.errors[0], StoreError)
    assert str(tail.errors[0]).startswith(f"{path}: cannot use as a monitoringApp database:")

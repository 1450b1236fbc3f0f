"""The monitor's own retention in virtual time over a real file: one batch per gap, rounds, the retention in force."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from reactivex.scheduler import HistoricalScheduler

from monitoringapp.domain.events import Probe
from monitoringapp.store.sqlite.retention import start_retention
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing

A = "http://a.test/"
DAY = 86400.0


def make_db(path: Path, probes: list[Probe]) -> None:
    connection = open_for_writing(path)
    insert_events(connection, probes)
    connection.close()


def count(path: Path) -> int:
    connection = sqlite3.connect(path, timeout=10)
    try:
        return int(connection.execute("SELECT count(*) FROM website_monitoring").fetchone()[0])
    finally:
        connection.close()


def ages(now: float, days: list[float]) -> list[Probe]:
    return [Probe(now - d * DAY, A, True, 200, 1.0) for d in days]


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_retention_deletes_one_batch_per_gap_then_waits_and_follows_the_retention_in_force(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    start = datetime(2026, 11, 25, tzinfo=UTC)
    now = start.timestamp()
    make_db(db, ages(now, [3] * 250 + [0.5] * 10))
    clock = HistoricalScheduler(start)
    in_force: list[float | None] = [None]
    errors: list[str] = []
    retention = start_retention(db, lambda: in_force[0], clock, errors.append, every=300, gap=1, first_after=5,
                                batch=100)
    clock.advance_to(utc(now + 10))
    assert count(db) == 260, "no retention, nothing deleted"
    in_force[0] = DAY  # e.g. a reloaded config's retention
    remaining = []
    for at in (305, 306, 307, 308, 600):
        clock.advance_to(utc(now + at))
        remaining.append(count(db))
    retention.dispose()
    assert remaining == [160, 60, 10, 10, 10], "100 rowids per second from the first round after the change"
    assert errors == []

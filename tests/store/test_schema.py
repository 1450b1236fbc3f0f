"""The store's schema on a real SQLite file: public tables and columns, version, WAL, refusals that touch nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from domain.events import AlertTransition, ErrorKind, Probe, TransitionKind
from domain.timefmt import iso_utc
from store.schema import (
    SCHEMA_VERSION,
    StoreError,
    alert_from_row,
    alert_row,
    open_existing_store,
    open_store,
    probe_from_row,
    probe_row,
)


def columns(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def test_a_new_store_has_the_public_tables_with_their_exact_columns(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "m.db")
    try:
        assert columns(connection, "website_monitoring") == [
            "timestamp", "host", "available", "status", "responseTime", "errorKind"]
        assert columns(connection, "website_alerts") == [
            "timestamp", "host", "type", "startDate", "endDate", "availability"]
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert indexes == {"website_monitoring_by_time", "website_alerts_by_host"}
    finally:
        connection.close()


def test_opening_twice_keeps_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    connection = open_store(path)
    connection.execute("INSERT INTO website_monitoring VALUES (?, ?, ?, ?, ?, ?)",
                       probe_row(Probe(1.0, "h", True, 200, 1.0)))
    connection.close()
    again = open_store(path)
    try:
        assert again.execute("SELECT count(*) FROM website_monitoring").fetchone()[0] == 1
    finally:
        again.close()


def test_alert_type_is_constrained_to_alert_or_recovery(tmp_path: Path) -> None:
    connection = open_store(tmp_path / "m.db")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            connection.execute("INSERT INTO website_alerts VALUES ('t', 'h', 'down', 's', NULL, 0.5)")
    finally:
        connection.close()


def test_a_newer_schema_version_is_refused_and_the_file_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    connection = open_store(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"schema version 2 is newer"):
        open_store(path)
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database\n" * 200)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="cannot use as a monitoringApp database"):
        open_store(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nowhere" / "m.db")
    assert list(tmp_path.iterdir()) == []


def test_rows_round_trip_to_the_same_events() -> None:
    probe = Probe(1_764_000_000.125, "http://a.test/", False, None, None, ErrorKind.TIMEOUT)
    assert probe_row(probe) == ("2025-11-24T16:00:00.125Z", "http://a.test/", 0, None, None, "timeout")
    assert probe_from_row(probe_row(probe)) == probe
    recovery = AlertTransition(1_764_000_060.5, "http://a.test/", TransitionKind.RECOVERY, 0.8,
                               start=1_764_000_000.125, end=1_764_000_060.5)
    assert alert_from_row(alert_row(recovery)) == recovery
    alert = AlertTransition(1_764_000_000.125, "http://a.test/", TransitionKind.ALERT, 2 / 3, start=1_764_000_000.125)
    assert alert_row(alert)[2:] == ("alert", "2025-11-24T16:00:00.125Z", None, 2 / 3)


def test_iso_timestamps_are_fixed_width_so_text_order_is_time_order() -> None:
    moments = [0.0, 9.9995, 10.0, 59.999, 1_000_000_000.0, 1_764_000_000.001, 1_764_000_000.01, 4_102_444_799.999]
    texts = [iso_utc(m) for m in moments]
    assert {len(t) for t in texts} == {24}
    assert sorted(texts) == texts
    assert texts[1] == "1970-01-01T00:00:10.000Z"  # rounding carries into the seconds


def test_a_database_made_by_the_seed_app_gains_the_error_kind_column_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "monitoring.db"
    with sqlite3.connect(path) as seed:
        seed.execute("CREATE TABLE website_monitoring (timestamp TEXT, host TEXT, available INTEGER, "
                     "status INTEGER, responseTime REAL)")
        seed.execute("CREATE TABLE website_alerts (timestamp TEXT, host TEXT, type TEXT, startDate TEXT, "
                     "endDate TEXT, availability REAL)")
        seed.execute("INSERT INTO website_monitoring VALUES "
                     "('2019-05-06 12:00:00.123456', 'http://a/', 1, 200, 12.0)")
    seed.close()
    connection = open_store(path)
    try:
        assert columns(connection, "website_monitoring")[-1] == "errorKind"
        connection.execute("INSERT INTO website_monitoring VALUES (?, ?, ?, ?, ?, ?)",
                           probe_row(Probe(1.0, "http://a/", False, None, None, ErrorKind.DNS)))
        stored = connection.execute("SELECT * FROM website_monitoring ORDER BY rowid").fetchall()
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        connection.close()
    assert stored == [("2019-05-06 12:00:00.123456", "http://a/", 1, 200, 12.0, None),
                      ("1970-01-01T00:00:01.000Z", "http://a/", 0, None, None, "dns")]
    assert probe_from_row(stored[0]).timestamp == 1557144000.123456  # the seed's text still reads back


def test_another_applications_database_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    other.commit()
    other.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"another application's database \(tables invoices\)"):
        open_store(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(("content", "message"), [
    (None, "database not found"),
    (b"not a database at all, just text" * 40, "file is not a database"),
])
def test_open_existing_store_never_creates_or_accepts_a_foreign_file(tmp_path: Path, content: bytes | None,
                                                                      message: str) -> None:
    path = tmp_path / "m.db"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StoreError, match=message):
        open_existing_store(path)
    assert (path.read_bytes() if content is not None else path.exists()) == (content or False)

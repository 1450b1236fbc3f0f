"""The batched delete on a real SQLite file: which rows go, in how many transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.purge import BatchedPurge, purge_before, purge_log
from monitoringapp.store.sqlite.schema import ALERT_TABLE, PROBE_TABLE, insert_events, open_for_writing

A, B = "http://a.test/", "http://b.test/"


def store_with(path: Path, probes: list[Probe], transitions: tuple[AlertTransition, ...] = ()) -> sqlite3.Connection:
    connection = open_for_writing(path)
    insert_events(connection, probes, transitions)
    return connection


def hosts_and_times(connection: sqlite3.Connection) -> list[tuple[str, str]]:
    return connection.execute("SELECT host, substr(timestamp, 12, 8) FROM website_monitoring ORDER BY rowid").fetchall()


def test_rows_before_the_cutoff_go_in_batches_of_rowids_and_the_rest_stay(tmp_path: Path) -> None:
    probes = [Probe(float(t), A if t % 2 else B, True, 200, 1.0) for t in range(1000)]
    connection = store_with(tmp_path / "m.db", probes)
    pauses: list[float] = []
    stats = purge_before(connection, PROBE_TABLE, 900.0, batch=100, pause=0.25, sleep=pauses.append)
    assert (stats.deleted, stats.batches) == (900, 9)
    assert len(pauses) == 8 and min(pauses) >= 0.25, "a pause between batches, none after the last"
    assert connection.execute("SELECT min(timestamp), count(*) FROM website_monitoring").fetchone() == (
        "1970-01-01T00:15:00.000Z", 100)


def test_site_filter_and_out_of_order_rows(tmp_path: Path) -> None:
    # rowid order is not time order here: an old row written late must still go.
    probes = [Probe(50.0, A, True, 200, 1.0), Probe(5.0, B, True, 200, 1.0), Probe(6.0, A, True, 200, 1.0),
              Probe(1.0, A, False, None, None)]
    connection = store_with(tmp_path / "m.db", probes)
    stats = purge_before(connection, PROBE_TABLE, 10.0, {A}, batch=1, sleep=lambda _: None)
    assert stats.deleted == 2
    assert hosts_and_times(connection) == [(A, "00:00:50"), (B, "00:00:05")]


def test_alert_purge_keeps_each_sites_latest_alert_or_recovery(tmp_path: Path) -> None:
    def alert(at: float, host: str, kind: TransitionKind) -> AlertTransition:
        return AlertTransition(at, host, kind, 0.5, at, at if kind is TransitionKind.RECOVERY else None)

    transitions = (alert(1, A, TransitionKind.ALERT), alert(2, A, TransitionKind.RECOVERY),
                   alert(3, A, TransitionKind.ALERT), alert(4, B, TransitionKind.ALERT))
    connection = store_with(tmp_path / "m.db", [], transitions)
    # A later kind, newer than A's alert: the alert is still A's state and must stay.
    connection.execute("INSERT INTO website_alerts (timestamp, host, type, startDate, transitionId) "
                       "VALUES ('1970-01-01T00:00:05.000Z', ?, 'certificate', '1970-02-01T00:00:00.000Z', 'c')", (A,))
    stats = purge_before(connection, ALERT_TABLE, 100.0, keep_latest_per_host=True, sleep=lambda _: None)
    assert stats.deleted == 3
    assert connection.execute("SELECT host, type, substr(timestamp, 18, 2) FROM website_alerts").fetchall() == [
        (A, "alert", "03"), (B, "alert", "04")]


def test_nothing_old_is_done_at_once(tmp_path: Path) -> None:
    connection = store_with(tmp_path / "m.db", [Probe(100.0, A, True, 200, 1.0)])
    purge = BatchedPurge(connection, PROBE_TABLE, 10.0)
    assert purge.done and purge.stats.deleted == 0


SEED_SCHEMA = ("CREATE TABLE website_monitoring (timestamp TEXT, host TEXT, available INTEGER, status INTEGER, "
               "responseTime REAL);"
               "CREATE TABLE website_alerts (timestamp TEXT, host TEXT, type TEXT, startDate TEXT, endDate TEXT, "
               "availability REAL);")


def seed_file(path: Path, probes: int) -> None:
    """A database the seed app made (before schema 2): rows numbered by rowid only, no index."""
    with sqlite3.connect(path) as seed:
        seed.executescript(SEED_SCHEMA)
        seed.executemany("INSERT INTO website_monitoring VALUES (?, ?, 1, 200, 1.0)",
                         [(f"2026-11-{day:02d}T00:00:00.000Z", A) for day in range(1, probes + 1)])
    seed.close()


def test_a_purge_of_a_file_from_before_schema_2_keeps_its_newest_row_so_no_number_is_given_again(
        tmp_path: Path) -> None:
    path = tmp_path / "seed.db"
    seed_file(path, 30)
    steps = list(purge_log(path, 1_796_083_200.0))  # 2026-12-01: every row is older
    assert steps[0].stats.deleted == 29
    connection = open_for_writing(path)  # a monitor migrates it and writes on
    insert_events(connection, [Probe(1_796_083_300.0, A, True, 200, 1.0)])
    numbers = connection.execute("SELECT id FROM website_monitoring ORDER BY id").fetchall()
    connection.close()
    assert numbers == [(30,), (31,)], "a reader whose cursor is at 30 still sees the new row"


def test_vacuum_of_a_file_from_before_schema_2_is_refused_before_anything_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "seed.db"
    seed_file(path, 30)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"seed\.db: --vacuum would renumber the rows of this database from before "
                                         r"schema 2, .* run -m on it once"):
        list(purge_log(path, 1_795_996_800.0 + 19 * 86400, vacuum=True))
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["seed.db"]

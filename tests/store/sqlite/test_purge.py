"""The batched delete on a real SQLite file: which rows go, in how many transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitoringapp.domain.events import LOCAL, AlertTransition, Probe, TransitionKind
from monitoringapp.operators.certificate_watch import CertificateWatch
from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.purge import BatchedPurge, purge_before, purge_log
from monitoringapp.store.sqlite.schema import (
    ALERT_COLUMNS,
    ALERT_TABLE,
    PROBE_TABLE,
    alert_from_row,
    insert_events,
    open_for_writing,
)

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


def test_alert_purge_keeps_what_a_restart_rebuilds_its_state_from_however_old(tmp_path: Path) -> None:
    day = 86400.0
    first, renewed = 20 * day, 110 * day  # two certificates' notAfter

    def told(at: float, host: str, kind: TransitionKind, start: float | None = None, end: float | None = None,
             location: str = LOCAL) -> AlertTransition:
        return AlertTransition(at, host, kind, None if start else 0.5, start or at, end, location)

    transitions = (
        told(1, A, TransitionKind.ALERT), told(2, A, TransitionKind.RECOVERY, end=2),
        told(3, A, TransitionKind.ALERT),  # still open, older than the cut: A's state
        told(4, B, TransitionKind.ALERT),
        # A monitor's certificate watch: 14 days, then 7 (tighter), then a renewed certificate's 14.
        told(5, A, TransitionKind.CERTIFICATE, first, first - 14 * day),
        told(6, A, TransitionKind.CERTIFICATE, first, first - 7 * day),
        told(7, A, TransitionKind.CERTIFICATE, renewed, renewed - 14 * day),
        # An evaluator's view of each location: eu's own alert and recovery, us silent and back.
        told(8, B, TransitionKind.LOCATION_ALERT, location="eu"), told(9, B, TransitionKind.LOCATION_RECOVERY,
                                                                       end=9, location="eu"),
        told(10, B, TransitionKind.SILENT, location="us"), told(11, B, TransitionKind.RESUMED, location="us"),
    )
    connection = store_with(tmp_path / "m.db", [], transitions)
    stats = purge_before(connection, ALERT_TABLE, 100.0, keep_remembered=True, sleep=lambda _: None)
    assert stats.deleted == 5
    assert connection.execute("SELECT host, type, location, substr(timestamp, 18, 2) FROM website_alerts "
                              "ORDER BY timestamp").fetchall() == [
        (A, "alert", LOCAL, "03"), (B, "alert", LOCAL, "04"), (A, "certificate", LOCAL, "06"),
        (A, "certificate", LOCAL, "07"), (B, "location-recovery", "eu", "09"), (B, "resumed", "us", "11")]
    rows = connection.execute(f"SELECT {', '.join(ALERT_COLUMNS)} FROM website_alerts").fetchall()
    watch = CertificateWatch([t for t in map(alert_from_row, rows) if t is not None])
    expiring = Probe(first - 6 * day, A, True, 200, 1.0, certificate_expiry=first)
    assert watch.judge(expiring, (14.0, 7.0, 1.0)) is None, "7 days was told: 6 days left says nothing new"


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

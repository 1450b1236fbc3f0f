"""The batched delete on a real SQLite file: which rows go, in how many transactions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.store.sqlite.purge import BatchedPurge, purge_before
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

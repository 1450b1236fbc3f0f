"""The SQLite log read back through `LogReader`: the recent past, each site's alert state, pages after a
cursor, and a reader that never writes and outlives purges, VACUUMs and a replaced file."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bench.processes import wait_until
from monitoringapp.domain.events import (
    NO_RESPONSE_MS,
    AlertTransition,
    ErrorKind,
    LastOutcomes,
    Probe,
    TransitionKind,
    outcome_key,
)
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store.log import BEGINNING, LogUnavailable, StoreError
from monitoringapp.store.sqlite import outcomes
from monitoringapp.store.sqlite import reader as reader_module
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing
from monitoringapp.store.sqlite.writer import SqliteEventLog

A, B, C, D = "http://a.test/", "http://b.test/", "http://c.test/", "http://d.test/"
T0 = 1_790_000_000.0


def stored(tmp_path: Path, *events: Probe | AlertTransition) -> Path:
    path = tmp_path / "m.db"
    log = SqliteEventLog(path, flush_interval=30.0)
    for event in events:
        if isinstance(event, Probe):
            log.append_probe(event)
        else:
            log.append_transition(event)
    log.close()
    return path


def alert(n: int, host: str = A) -> AlertTransition:
    return AlertTransition(T0 + n, host, TransitionKind.ALERT, 0.5, start=T0 + n)


def append(db: sqlite3.Connection, *transitions: AlertTransition) -> None:
    insert_events(db, [], transitions)


def test_recent_probes_are_those_after_since_oldest_first_optionally_of_some_hosts(tmp_path: Path) -> None:
    probes = [Probe(t, host, t % 2 == 0, 200 if t % 2 == 0 else 500, 1.0)
              for t, host in ((10.0, A), (12.0, B), (11.0, A), (13.0, A), (14.0, B))]
    reader = SqliteLogReader(stored(tmp_path, *probes))
    try:
        assert [(p.timestamp, p.host) for p in reader.probes_since(11.0).events] == [(12.0, B), (13.0, A), (14.0, B)]
        assert list(reader.probes_since(10.5, {A}).events) == [probes[2], probes[3]]
    finally:
        reader.close()


def test_last_transitions_gives_each_sites_latest_alert_or_recovery(tmp_path: Path) -> None:
    a_alert = AlertTransition(10.0, A, TransitionKind.ALERT, 0.5, start=10.0)
    a_recovery = AlertTransition(20.0, A, TransitionKind.RECOVERY, 0.9, start=10.0, end=20.0)
    b_alert = AlertTransition(15.0, B, TransitionKind.ALERT, 0.0, start=15.0)
    reader = SqliteLogReader(stored(tmp_path, a_alert, b_alert, a_recovery))
    try:
        assert reader.last_transitions() == {A: a_recovery, B: b_alert}
        assert reader.last_transitions({B}) == {B: b_alert}
    finally:
        reader.close()


def a_log_of_many_sites(tmp_path: Path, others: int) -> tuple[Path, list[AlertTransition]]:
    """A's and B's transitions (every kind, ties in time, a kind a newer writer stores) among `others` other sites'
    ten each: what a reload that adds A and B reads their alert state and certificate warnings from."""
    ours = [
        AlertTransition(T0 + 10, A, TransitionKind.ALERT, 0.5, start=T0 + 10),
        AlertTransition(T0 + 20, A, TransitionKind.RECOVERY, 0.9, start=T0 + 10, end=T0 + 20),
        AlertTransition(T0 + 20, A, TransitionKind.ALERT, 0.4, start=T0 + 20),  # the same time: the later row wins
        AlertTransition(T0 + 30, A, TransitionKind.SILENT, None, T0 + 30, None, "us"),  # not alert state
        AlertTransition(T0 + 40, A, TransitionKind.CERTIFICATE, None, T0 + 86400, T0 + 40, detail="expires in 1d"),
        AlertTransition(T0 + 15, B, TransitionKind.CERTIFICATE, None, T0 + 86400, T0 + 15, detail="expires in 1d"),
        AlertTransition(T0 + 20, B, TransitionKind.ALERT, 0.0, start=T0 + 20),
    ]
    theirs = [AlertTransition(T0 + n, f"http://other{site}.test/", kind, 0.5, start=T0 + n)
              for site in range(others) for n, kind in enumerate([TransitionKind.ALERT, TransitionKind.RECOVERY] * 5)]
    # Probes of A, B and the others, every second, A's two at one time once.
    probes = [Probe(T0 + n, host, n % 3 != 0, 200 if n % 3 else 503, float(n))
              for n in range(6) for host in (A, B, *(f"http://other{site}.test/" for site in range(others)))]
    probes.insert(4, Probe(T0, A, True, 204, 9.0))
    path = stored(tmp_path, *ours, *theirs, *probes)
    db = sqlite3.connect(path)
    with db:  # a newer writer's kind, A's latest row: passed over
        db.execute("INSERT INTO website_alerts (timestamp, host, type, startDate, transitionId) "
                   "VALUES (?, ?, 'maintenance', ?, 'x')", (iso_utc(T0 + 50), A, iso_utc(T0 + 50)))
    db.close()
    return path, ours


def test_the_alert_state_and_transitions_of_some_sites_are_those_of_every_site_kept_for_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, ours = a_log_of_many_sites(tmp_path, others=20)
    reader = SqliteLogReader(path)
    try:
        every = reader.last_transitions()
        since = reader.transitions_since(T0 + 15)
        assert {host: every[host] for host in (A, B)} == {A: ours[2], B: ours[6]}
        wanted_sets: list[list[str]] = [[A], [B, A, B], [A, C], [D], []]
        for wanted in wanted_sets:  # a list (with a site twice), a site with no transition
            assert reader.last_transitions(wanted) == {h: t for h, t in every.items() if h in wanted}, wanted
            page = reader.transitions_since(T0 + 15, wanted)
            assert list(page.events) == [t for t in since.events if t.host in wanted], wanted
            assert page.cursor == since.cursor
        assert list(reader.transitions_since(None, {B}).events) == [ours[5], ours[6]]
        probes = reader.probes_since(None).events
        for after in (None, T0, T0 + 3):
            for wanted in wanted_sets:
                expected = [p for p in probes if p.host in wanted and (after is None or p.timestamp > after)]
                assert list(reader.probes_since(after, wanted).events) == expected, (after, wanted)
        assert [(p.timestamp - T0, p.status) for p in reader.probes_since(None, {A}).events][:2] == [(0, 503), (0, 204)]
        # More sites than a read names in its SQL: every site's rows read, and theirs kept.
        monkeypatch.setattr(reader_module, "HOSTS_IN_SQL", 1)
        assert reader.last_transitions([A, B]) == {A: ours[2], B: ours[6]}
        assert list(reader.transitions_since(T0 + 15, {A, B}).events) == [t for t in since.events if t.host in {A, B}]
    finally:
        reader.close()


class SqliteSteps:
    """The steps (virtual machine instructions) SQLite takes on the connections readers open from now on: the
    work a read does, the same on any machine."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        opened = reader_module.connect

        def counted(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            connection = opened(*args, **kwargs)
            connection.set_progress_handler(self._step, 1)
            return connection

        monkeypatch.setattr(reader_module, "connect", counted)

    def _step(self) -> int:
        self.count += 1
        return 0  # go on

    def of(self, read: Callable[[], object]) -> int:
        self.count = 0
        read()
        return self.count


def test_a_read_of_a_few_sites_alert_state_and_transitions_does_not_grow_with_other_sites_rows(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a reload adding A and B reads: theirs through the `(host, timestamp)` index, not every site's rows
    filtered after (on 200,000 transitions, 0.3 s a reload). Counted in SQLite's steps, on two logs alike but for
    20 and 400 other sites' rows."""
    steps = SqliteSteps(monkeypatch)
    taken: dict[int, tuple[int, int]] = {}
    for others in (20, 400):
        (tmp_path / str(others)).mkdir()
        path, _ = a_log_of_many_sites(tmp_path / str(others), others)
        reader = SqliteLogReader(path)
        try:
            reader.schema_version()  # the connection opened: its checks are not the reads'
            taken[others] = (steps.of(partial(reader.last_transitions, {A, B})),
                             steps.of(partial(reader.transitions_since, T0, {A, B})))
        finally:
            reader.close()
    (few_states, few_since), (many_states, many_since) = taken[20], taken[400]
    assert many_states < few_states * 1.5 and many_since < few_since * 1.5, taken  # before: 19 times as many


def test_since_gives_the_history_and_the_cursor_after_which_each_commit_comes_once_in_append_order(
        tmp_path: Path) -> None:
    db = open_for_writing(tmp_path / "m.db")
    append(db, alert(2), alert(1))
    reader = SqliteLogReader(tmp_path / "m.db")
    history = reader.transitions_since(None)
    assert list(history.events) == [alert(1), alert(2)]  # oldest first
    assert list(reader.transitions_after(history.cursor).events) == []
    append(db, alert(5))
    append(db, alert(4), alert(6))
    page = reader.transitions_after(history.cursor)
    assert list(page.events) == [alert(5), alert(4), alert(6)]  # as appended
    assert list(reader.transitions_after(page.cursor).events) == []
    assert list(reader.transitions_after(BEGINNING, {A}).events) == [alert(2), alert(1), alert(5), alert(4), alert(6)]


def test_an_idle_read_only_asks_data_version_and_reads_no_rows(tmp_path: Path) -> None:
    db = open_for_writing(tmp_path / "m.db")
    append(db, alert(1))
    reader = SqliteLogReader(tmp_path / "m.db")
    cursor = reader.transitions_since(None).cursor
    for _ in range(20):
        cursor = reader.transitions_after(cursor).cursor
    assert reader.reads == 1
    append(db, alert(2))
    assert list(reader.transitions_after(cursor).events) == [alert(2)]
    assert reader.reads == 2


def test_a_cursor_left_behind_by_a_later_read_of_some_sites_past_still_gets_what_came_after_it(
        tmp_path: Path) -> None:
    """The web page reads a site a reloaded config adds (`*_since` of its hosts) while its feed's cursor is where
    the last poll left it: the feed's next read skipped the rows between, as if the since-read had been its own."""
    db = open_for_writing(tmp_path / "m.db")
    append(db, alert(1))
    reader = SqliteLogReader(tmp_path / "m.db")
    cursor = reader.transitions_after(reader.transitions_since(None).cursor).cursor
    append(db, alert(2, host=B))
    assert list(reader.transitions_since(None, {A}).events) == [alert(1)]
    assert list(reader.transitions_after(cursor).events) == [alert(2, host=B)]


def test_keeps_going_through_a_purge_and_a_vacuum(tmp_path: Path) -> None:
    db = open_for_writing(tmp_path / "m.db")
    append(db, *(alert(n) for n in range(1, 11)))
    reader = SqliteLogReader(tmp_path / "m.db")
    cursor = reader.transitions_since(None).cursor
    db.execute("DELETE FROM website_alerts WHERE timestamp < ?", ("2026-09-21",))  # rows 1..5
    db.execute("VACUUM")
    page = reader.transitions_after(cursor)
    assert list(page.events) == []
    append(db, alert(11))
    page = reader.transitions_after(page.cursor)
    assert list(page.events) == [alert(11)]
    db.execute("DELETE FROM website_alerts")  # a purge of everything, then a monitor writes again
    append(db, alert(12))
    assert list(reader.transitions_after(page.cursor).events) == [alert(12)]


def test_a_database_file_replaced_by_a_new_one_is_followed_from_where_we_were(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    db = open_for_writing(path)
    append(db, alert(1), alert(2))
    reader = SqliteLogReader(path)
    cursor = reader.transitions_since(None).cursor
    db.close()
    for name in ("m.db", "m.db-wal", "m.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    fresh = open_for_writing(path)
    append(fresh, alert(1), alert(2), alert(3))  # e.g. a restored copy that has gone on
    assert list(reader.transitions_after(cursor).events) == [alert(3)]


def test_a_locked_database_is_unavailable_for_a_moment_without_a_word(tmp_path: Path) -> None:
    db = open_for_writing(tmp_path / "m.db")
    append(db, alert(1))
    db.execute("PRAGMA journal_mode = DELETE")  # readers wait on writers only outside WAL
    reader = SqliteLogReader(tmp_path / "m.db")
    cursor = reader.transitions_since(None).cursor
    db.execute("BEGIN EXCLUSIVE")
    append(db, alert(2))
    with pytest.raises(LogUnavailable) as locked:
        reader.transitions_after(cursor)
    assert str(locked.value) == ""
    db.execute("COMMIT")
    assert list(reader.transitions_after(cursor).events) == [alert(2)]


def test_a_database_not_created_yet_is_unavailable_saying_so_and_nothing_is_created(tmp_path: Path) -> None:
    reader = SqliteLogReader(tmp_path / "m.db")
    with pytest.raises(LogUnavailable, match="to be created by a monitor"):
        reader.probes_since(None)
    assert list(tmp_path.iterdir()) == []


def test_a_database_in_a_directory_that_does_not_exist_is_a_store_error_not_a_wait(tmp_path: Path) -> None:
    # No monitor creates a directory (it refuses one that is missing): waiting for the file would be for ever.
    reader = SqliteLogReader(tmp_path / "missing" / "m.db")
    with pytest.raises(StoreError, match=re.escape(f"m.db: directory '{tmp_path / 'missing'}' does not exist")):
        reader.probes_since(None)
    assert list(tmp_path.iterdir()) == []


def test_a_database_held_by_a_writer_when_first_opened_is_waited_for_not_refused(tmp_path: Path) -> None:
    # A file in rollback-journal mode (an old one, before a monitor migrates it) under an exclusive write: the
    # reader's first look was "cannot use as a monitoringApp database: database is locked", exit 2.
    path = tmp_path / "m.db"
    writer = open_for_writing(path)
    with writer:
        insert_events(writer, [Probe(1000.0, "http://a.test/", True, 200, 1.5)], [])
    writer.execute("PRAGMA journal_mode=DELETE")
    writer.close()
    holder = sqlite3.connect(path, isolation_level=None)
    reader = SqliteLogReader(path, busy_timeout=0.05)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(LogUnavailable, match=re.escape(f"cannot read {path} yet (database is locked); retrying")):
            reader.probes_since(None)
        holder.execute("COMMIT")
        assert [probe.timestamp for probe in reader.probes_since(None).events] == [1000.0]
    finally:
        holder.close()
        reader.close()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(StoreError) as error:
        SqliteLogReader(path).probes_since(None)
    assert str(error.value).startswith(f"{path}: cannot use as a monitoringApp database:")


def test_a_path_under_a_regular_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    path = tmp_path / "config.json" / "m.db"
    with pytest.raises(StoreError) as error:
        SqliteLogReader(path).probes_since(None)
    assert str(error.value) == f"{path}: cannot use as a monitoringApp database: Not a directory"


def test_a_directory_is_a_store_error_rather_than_a_wait_for_ever(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as error:
        SqliteLogReader(tmp_path).probes_since(None)
    assert str(error.value) == f"{tmp_path}: is not a file"


def test_transition_entries_come_in_pages_each_with_its_own_cursor_and_new_rows_after_a_read_to_the_end(
        tmp_path: Path) -> None:
    path = stored(tmp_path, *(alert(n) for n in range(5)))
    reader = SqliteLogReader(path)
    first = reader.transition_entries_after(BEGINNING, limit=3)
    assert [(e.event.timestamp, e.cursor.position, e.cursor.time) for e in first.events] == [
        (T0, 1, T0), (T0 + 1, 2, T0 + 1), (T0 + 2, 3, T0 + 2)]
    assert first.cursor == first.events[-1].cursor
    rest = reader.transition_entries_after(first.cursor, limit=3)  # the same snapshot version: still read
    assert [e.cursor.position for e in rest.events] == [4, 5] and rest.cursor.position == 5
    assert reader.transition_entries_after(rest.cursor).events == []
    assert reader.transitions_end() == rest.cursor
    db = open_for_writing(path)
    append(db, alert(9))
    db.close()
    (new,) = reader.transition_entries_after(rest.cursor).events
    assert (new.event.timestamp, new.cursor.position) == (T0 + 9, 6)
    assert [e.cursor.position for e in reader.transition_entries_after(first.events[0].cursor).events] == [2, 3, 4, 5,
                                                                                                        6]


def test_the_latest_probe_time_is_the_newest_stored_probe_and_none_before_any(tmp_path: Path) -> None:
    reader = SqliteLogReader(stored(tmp_path, alert(0)))
    assert reader.latest_probe_time() is None and reader.last_stored_probe_time() is None
    reader.close()
    later = SqliteLogReader(stored(tmp_path, Probe(T0 + 5, A, True, 200, 1.0), Probe(T0 + 3, B, True, 200, 1.0)))
    assert later.latest_probe_time() == T0 + 5
    # The one appended last (a clock stepped back between the two): whether a monitor still stores.
    assert later.last_stored_probe_time() == T0 + 3
    later.close()


def test_the_first_probe_after_a_moment_is_the_earliest_stored_after_it_whatever_the_order_of_appends(
        tmp_path: Path) -> None:
    reader = SqliteLogReader(stored(tmp_path, Probe(T0, A, True, 200, 1.0), Probe(T0 + 300, A, True, 200, 1.0),
                                    Probe(T0 + 120.5, B, True, 200, 1.0), Probe(T0 + 400, B, True, 200, 1.0)))
    assert reader.first_probe_time_after(T0) == T0 + 120.5  # resumed there: not the newest probe, T0 + 400
    assert reader.first_probe_time_after(T0 + 120.5) == T0 + 300
    assert reader.first_probe_time_after(T0 + 400) is None
    reader.close()


def test_a_reader_of_a_database_no_monitor_writes_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = stored(tmp_path, Probe(T0, A, True, 200, 1.0), alert(1))
    assert [p.name for p in tmp_path.iterdir()] == ["m.db"]
    before = path.read_bytes()
    reader = SqliteLogReader(path)
    try:
        assert len(reader.probes_since(None).events) == 1 and len(reader.transitions_since(None).events) == 1
    finally:
        reader.close()
    assert [p.name for p in tmp_path.iterdir()] == ["m.db"] and path.read_bytes() == before


@pytest.mark.parametrize(("change", "refusal"), [
    ("PRAGMA user_version = 99", "schema version 99 is newer than this monitoringApp understands"),
    ("ALTER TABLE website_monitoring RENAME TO invoices; ALTER TABLE website_alerts RENAME TO payments",
     "is another application's database"),
])
def test_a_reader_that_refuses_a_database_leaves_nothing_beside_it(tmp_path: Path, change: str,
                                                                   refusal: str) -> None:
    # A WAL file no monitor writes: SQLite makes a -wal and a -shm to read it, which a read-only connection
    # cannot remove as it closes.
    path = stored(tmp_path, Probe(T0, A, True, 200, 1.0))
    connection = sqlite3.connect(path)
    connection.executescript(change)
    connection.close()
    assert [p.name for p in tmp_path.iterdir()] == ["m.db"]
    reader = SqliteLogReader(path)
    try:
        with pytest.raises(StoreError, match=refusal):
            reader.probes_since(None)
    finally:
        reader.close()
    assert [p.name for p in tmp_path.iterdir()] == ["m.db"]


def test_a_reader_beside_a_running_writer_leaves_the_writers_files_to_it(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    log = SqliteEventLog(path, flush_interval=30.0)
    try:
        log.append_transition(alert(1))
        reader = SqliteLogReader(path)
        assert [t.timestamp for t in _wait_for_rows(reader)] == [T0 + 1]
        reader.close()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["m.db", "m.db-shm", "m.db-wal", "m.db.lock"]
        log.append_transition(alert(2))  # the writer goes on undisturbed
    finally:
        log.close()
    assert [p.name for p in tmp_path.iterdir()] == ["m.db"]


def _wait_for_rows(reader: SqliteLogReader) -> list[AlertTransition]:
    return wait_until(lambda: list(reader.transitions_since(None).events), timeout=10.0, what="the writer's rows",
                      step=0.01)


def test_probe_history_gives_the_range_newest_first_in_chunks_each_site_as_columns_in_time_order(
        tmp_path: Path) -> None:
    probes = [Probe(T0 + t + (0.001 if host == B else 0.0), host, t % 5 != 0, 200 if t % 5 else 503,
                    None if t % 7 == 0 else 0.5 + t, ErrorKind.TIMEOUT if t % 7 == 0 else None)
              for t in range(60) for host in (A, B)]
    reader = SqliteLogReader(stored(tmp_path, *probes))
    try:
        chunks = list(reader.probe_history(T0 + 10, T0 + 50, rows=25))
        everything = list(reader.probe_history(T0 + 10, T0 + 50))
        only_b = list(reader.probe_history(T0 + 10, T0 + 50, {B}, rows=25))
    finally:
        reader.close()
    # (T0 + 10, T0 + 50]: A's 11..50 and B's 10.001..49.001, in chunks of 25 rows at most, newest first.
    expected = {host: [p for p in probes if p.host == host and T0 + 10 < p.timestamp <= T0 + 50] for host in (A, B)}
    assert all(sum(len(site) for site in chunk) <= 25 for chunk in chunks) and len(chunks) >= 4
    oldest_first = [site for chunk in reversed(chunks) for site in chunk]
    for host, wanted in expected.items():
        columns = [site for site in oldest_first if site.host == host]
        assert [t for site in columns for t in site.timestamps] == [p.timestamp for p in wanted]
        assert [rt for site in columns for rt in site.response_times] == [
            p.response_time_ms if p.response_time_ms is not None else NO_RESPONSE_MS for p in wanted]
        assert [o for site in columns for o in site.outcomes] == [outcome_key(p.status, p.error, p.available)
                                                                  for p in wanted]
    assert len(everything) == 1 and sorted(site.host for site in everything[0]) == [A, B]
    assert {site.host for chunk in only_b for site in chunk} == {B}
    assert sum(len(site) for chunk in only_b for site in chunk) == len(expected[B])


def test_probe_history_of_an_empty_range_or_log_is_nothing(tmp_path: Path) -> None:
    reader = SqliteLogReader(stored(tmp_path, Probe(T0, A, True, 200, 1.0)))
    try:
        assert list(reader.probe_history(T0, T0 + 60)) == []
        assert list(reader.probe_history(T0 - 60, T0 - 1)) == []
        assert [site.host for chunk in reader.probe_history(T0 - 1, T0) for site in chunk] == [A]
    finally:
        reader.close()


def test_probe_history_codes_every_error_kind_and_reads_a_kind_it_does_not_know_as_other(tmp_path: Path) -> None:
    kinds = list(ErrorKind)
    probes = [Probe(T0 + n, A, False, None, None, kind) for n, kind in enumerate(kinds)]
    path = stored(tmp_path, *probes, Probe(T0 + 50, A, False, 418, 2.5))
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO website_monitoring (timestamp, host, available, status, responseTime, errorKind) "
                   "VALUES (?, ?, 0, NULL, NULL, 'a-kind-from-a-newer-version')", (iso_utc(T0 + 100), A))
    reader = SqliteLogReader(path)
    try:
        (site,) = (site for chunk in reader.probe_history(T0 - 1, T0 + 10_000_000) for site in chunk)
    finally:
        reader.close()
    assert list(site.outcomes) == [*(outcome_key(None, kind, False) for kind in kinds),
                                   outcome_key(418, None, False), outcome_key(None, ErrorKind.OTHER, False)]
    assert list(site.response_times) == [NO_RESPONSE_MS] * len(kinds) + [2.5, NO_RESPONSE_MS]


H = 1_789_999_200.0  # an hour's start


@pytest.mark.parametrize("rounds", [0, 1, 4])
def test_last_outcomes_are_each_sites_last_success_last_failure_and_failing_run_up_to_a_moment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rounds: int) -> None:
    """Across hours and a gap with no monitor, to the millisecond, whether the last probes folded settle a site
    (4 a site), some of it (1) or none of it (0: all through the rollups); a probe after the moment, even in its
    minute, is not counted."""
    monkeypatch.setattr(outcomes, "RECENT_ROUNDS", rounds)
    before = H + 3 * 3600 + 30.0
    probes = [
        Probe(H + 10.0, A, True, 200, 1.0),  # A: up, then down from the next hour on, across a gap
        *(Probe(H + 3600 + 5.25 + n, A, False, 503, 1.0) for n in range(3)),
        Probe(H + 3 * 3600 + 20.5, A, False, None, None, ErrorKind.TIMEOUT),
        Probe(H + 3 * 3600 + 31.0, A, True, 200, 1.0),  # after the moment: not counted
        Probe(H + 20.0, B, False, 503, 1.0),  # B: down, then up
        Probe(H + 2 * 3600 + 59.0, B, False, 503, 1.0),
        Probe(H + 2 * 3600 + 61.0, B, True, 200, 1.0),
        Probe(H + 30.0, C, True, 200, 1.0),  # C: never down
        Probe(before + 1.0, D, False, 503, 1.0),  # D: nothing up to the moment
    ]
    reader = SqliteLogReader(stored(tmp_path, *probes))
    try:
        assert reader.last_outcomes(before) == {
            A: LastOutcomes(A, H + 10.0, H + 3 * 3600 + 20.5, H + 3600 + 5.25),
            B: LastOutcomes(B, H + 2 * 3600 + 61.0, H + 2 * 3600 + 59.0, None),
            C: LastOutcomes(C, H + 30.0, None, None)}
        assert reader.last_outcomes(H + 3600 + 6.25, {A, D}) == {
            A: LastOutcomes(A, H + 10.0, H + 3600 + 6.25, H + 3600 + 5.25)}
        assert reader.last_outcomes(H) == {}
    finally:
        reader.close()


def test_last_outcomes_where_retention_purged_the_probes_are_told_to_the_minute_and_beyond_the_minutes_exact(
        tmp_path: Path) -> None:
    probes = [Probe(H + 10.0, A, True, 200, 1.0), Probe(H + 70.0, A, False, 503, 1.0),
              Probe(H + 100.0, A, False, 503, 1.0), Probe(H + 7200.0, A, False, 503, 1.0)]
    path = stored(tmp_path, *probes)
    with sqlite3.connect(path) as db:  # minute rollups older than 14 days are pruned: the hour's probes are read
        db.execute("DELETE FROM website_rollups_minute")
    reader = SqliteLogReader(path)
    try:
        assert reader.last_outcomes(H + 7200.0) == {A: LastOutcomes(A, H + 10.0, H + 7200.0, H + 70.0)}
        with sqlite3.connect(path) as db:  # retention deleted the probes of the first hour: its end for the
            db.execute("DELETE FROM website_monitoring WHERE timestamp < ?", (iso_utc(H + 3600),))  # success
        assert reader.last_outcomes(H + 7200.0) == {A: LastOutcomes(A, H + 3600, H + 7200.0, H + 7200.0)}
    finally:
        reader.close()
    (tmp_path / "minutes").mkdir()
    path = stored(tmp_path / "minutes", *probes)
    with sqlite3.connect(path) as db:  # probes purged, minute rollups kept: to the minute
        db.execute("DELETE FROM website_monitoring WHERE timestamp < ?", (iso_utc(H + 3600),))
    reader = SqliteLogReader(path)
    try:
        assert reader.last_outcomes(H + 7200.0) == {A: LastOutcomes(A, H + 60.0, H + 7200.0, H + 60.0)}
    finally:
        reader.close()

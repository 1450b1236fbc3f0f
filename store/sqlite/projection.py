"""An evaluator's projection of the `MONITOR` stream: the log's own tables in a SQLite file, so `-a`, `-p`, `-w`,
`--notify` and `--replay` work on it unchanged, written by the evaluator one verdict at a time.

Each commit is one transaction holding the verdict's probes, its transitions (one already stored under its id is
skipped: a second evaluator's, or a replay's) and the stream sequences it judged. A crash therefore leaves no
verdict half-stored, and after a restart the evaluator tells the redelivered messages it had judged from those it
had not (`judged_after`). What a restarted evaluator resumes from is read here too (`pasts`).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.domain.timefmt import parse_iso
from monitoringapp.operators.quorum import SitePast
from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.rollups import OpenRollups, rebuild, rollups_missing
from monitoringapp.store.sqlite.schema import (
    ALERT_COLUMNS,
    ALERT_TABLE,
    INSERT_PROBE,
    LOCATION_STATE_ROWIDS,
    PROBE_TABLE,
    alert_from_row,
    alert_row,
    connect,
    open_for_writing,
    probe_row,
    write_transaction,
)

_JUDGED = "CREATE TABLE IF NOT EXISTS evaluator_judged (stream TEXT NOT NULL, seq INTEGER NOT NULL, " \
          "PRIMARY KEY (stream, seq)) WITHOUT ROWID"
_CONSUMERS = "CREATE TABLE IF NOT EXISTS evaluator_consumer (stream TEXT NOT NULL, partition TEXT NOT NULL, " \
             "durable TEXT NOT NULL, PRIMARY KEY (stream, partition)) WITHOUT ROWID"
_INSERT_NEW_ALERT = (f"INSERT INTO {ALERT_TABLE} ({', '.join(ALERT_COLUMNS)}) SELECT {', '.join('?' * 9)} "
                     f"WHERE NOT EXISTS (SELECT 1 FROM {ALERT_TABLE} WHERE transitionId = ?)")


class SqliteProjection:
    """The projection at `path` of the stream `stream` (its name and creation time: another stream, other
    sequences). Its writes and `judged_among` may come from several threads (an evaluator commits on its
    consumer's thread and forgets acknowledged sequences on another)."""

    def __init__(self, path: str | Path, stream: str) -> None:
        self.path = Path(path)
        self.stream = stream
        self._connection = open_for_writing(self.path)
        try:
            self._connection.execute(_JUDGED)
            self._connection.execute(_CONSUMERS)
            if rollups_missing(self._connection):
                rebuild(self._connection)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{path}: cannot use as a projection: {error}") from None
        self._rollups = OpenRollups()  # kept as the monitor's writer keeps them, for the web page
        self.reader = SqliteLogReader(self.path, busy_timeout=5.0)
        self.rows_written = 0
        # One connection, one transaction at a time: a BEGIN from another thread inside an open one fails ("cannot
        # start a transaction within a transaction", which stopped the evaluator), and its COMMIT would commit the
        # other's half-done verdict.
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock, write_transaction(self._connection):
            yield

    def commit(self, probes: Sequence[Probe], transitions: Sequence[AlertTransition], judged: Sequence[int]) -> None:
        with self._transaction():
            self._connection.executemany(INSERT_PROBE, map(probe_row, probes))
            self._rollups.add(self._connection, probes)
            for transition in transitions:
                row = alert_row(transition)
                self._connection.execute(_INSERT_NEW_ALERT, (*row, row[-1]))
            self._connection.executemany("INSERT OR IGNORE INTO evaluator_judged (stream, seq) VALUES (?, ?)",
                                         [(self.stream, seq) for seq in judged])
        self.rows_written += len(probes) + len(transitions)

    def consumer_name(self, partition: str, proposed: str) -> str:
        """The name of the durable consumer this projection is fed by for `partition`: `proposed` the first time,
        the same name ever after. Worked out afresh, a name that depends on the host or the path (a container
        made again, a volume mounted elsewhere) would be a new consumer, which would deliver the whole stream
        again and judge it a second time. For the same reason a projection serves one partition: StoreError
        when it was fed by another."""
        _refuse_another_partition(self._connection, self.path, self.stream, partition)
        with self._transaction():
            self._connection.execute("INSERT OR IGNORE INTO evaluator_consumer (stream, partition, durable) "
                                     "VALUES (?, ?, ?)", (self.stream, partition, proposed))
            (durable,) = self._connection.execute(
                "SELECT durable FROM evaluator_consumer WHERE stream = ? AND partition = ?",
                (self.stream, partition)).fetchone()
        return str(durable)

    def judged_among(self, sequences: Sequence[int]) -> set[int]:
        """Those of `sequences` judged already: delivered again after a crash, a restart, or an acknowledgement
        lost with the cluster (which does not always say a delivery is a repeat)."""
        found: set[int] = set()
        with self._lock:
            for start in range(0, len(sequences), 500):
                chunk = sequences[start:start + 500]
                found.update(seq for (seq,) in self._connection.execute(
                    f"SELECT seq FROM evaluator_judged WHERE stream = ? AND seq IN ({', '.join('?' * len(chunk))})",
                    (self.stream, *chunk)))
        return found

    def forget_judged_through(self, floor: int) -> None:
        """Drop what no redelivery can bring again (at or below the consumer's acknowledgement floor)."""
        with self._transaction():
            self._connection.execute("DELETE FROM evaluator_judged WHERE stream = ? AND seq <= ?",
                                     (self.stream, floor))

    def pasts(self, hosts: Collection[str], span: float) -> tuple[dict[str, SitePast], tuple[Probe, ...]]:
        """Each site's past (its state, each location's own transitions, silences and last probe) and the probes
        of the last `span` seconds before the last one judged, for a restarted evaluator (which goes on from
        there, however long it was stopped)."""
        (last,) = self._connection.execute(f"SELECT max(timestamp) FROM {PROBE_TABLE}").fetchone()
        history = tuple(self.reader.probes_since(parse_iso(last) - span, hosts).events) if last else ()
        pasts = {host: SitePast() for host in hosts}
        for host, transition in self.reader.last_transitions(hosts).items():
            pasts[host].site = transition
        # Rows a purge with --alerts keeps, however old (`schema.remembered_alert_rowids`).
        rows = self._connection.execute(
            f"SELECT {', '.join(ALERT_COLUMNS)} FROM {ALERT_TABLE} WHERE rowid IN ({LOCATION_STATE_ROWIDS})").fetchall()
        for row in rows:
            told = alert_from_row(row)
            if told is None or told.host not in pasts:
                continue
            past = pasts[told.host]
            if told.kind in (TransitionKind.SILENT, TransitionKind.RESUMED):
                past.silences[told.location] = told
            else:
                past.locations[told.location] = told
        for host, location, last in self._connection.execute(
                f"SELECT host, location, max(timestamp) FROM {PROBE_TABLE} GROUP BY host, location"):
            if host in pasts:
                pasts[host].last_probe[location] = parse_iso(last)
        return pasts, history

    def close(self) -> None:
        with self._transaction():
            self._rollups.flush(self._connection)  # every open hour's sketch exact
        self.reader.close()
        self._connection.close()


def refuse_another_partition(path: str | Path, stream: str, partition: str) -> None:
    """StoreError when the projection at `path` was fed by a partition other than `partition`; checked before the
    projection is opened for writing, so a refused file is left exactly as it was."""
    target = Path(path)
    if not target.is_file():
        return
    try:
        connection = connect(target, existing=True)  # removes the -wal and -shm files it opened when it closes
        try:
            _refuse_another_partition(connection, target, stream, partition)
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return  # a projection from before consumers were kept, or no projection: opening it says what is wrong


def _refuse_another_partition(connection: sqlite3.Connection, path: Path, stream: str, partition: str) -> None:
    fed_by = [row[0] for row in connection.execute(
        "SELECT partition FROM evaluator_consumer WHERE stream = ? AND partition != ?", (stream, partition))]
    if fed_by:
        raise StoreError(f"{path}: holds the verdicts of {_partition_shown(fed_by[0])}; judging "
                         f"{_partition_shown(partition)} into it would judge every probe in the stream again: "
                         f"give it a projection of its own (-db NEW.db)")


def _partition_shown(partition: str) -> str:
    return "every site (no --partition)" if partition == "0/1" else f"--partition {partition}"

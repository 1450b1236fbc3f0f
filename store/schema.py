"""The SQLite event store's schema and the mapping between its rows and our events.

`website_monitoring` and `website_alerts` are a public contract: columns may be
added, never renamed or dropped. Timestamps are fixed-width ISO-8601 UTC text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.events import AlertTransition, ErrorKind, Probe, TransitionKind
from domain.timefmt import iso_utc, parse_iso

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS website_monitoring (
    timestamp TEXT NOT NULL,
    host TEXT NOT NULL,
    available INTEGER NOT NULL,
    status INTEGER,
    responseTime REAL,
    errorKind TEXT
);
CREATE INDEX IF NOT EXISTS website_monitoring_by_time ON website_monitoring (timestamp);
CREATE TABLE IF NOT EXISTS website_alerts (
    timestamp TEXT NOT NULL,
    host TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('alert', 'recovery')),
    startDate TEXT NOT NULL,
    endDate TEXT,
    availability REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS website_alerts_by_host ON website_alerts (host, timestamp);
"""

PROBE_COLUMNS = "timestamp, host, available, status, responseTime, errorKind"
ALERT_COLUMNS = "timestamp, host, type, startDate, endDate, availability"

ProbeRow = tuple[str, str, int, int | None, float | None, str | None]
AlertRow = tuple[str, str, str, str, str | None, float]


def latest_rowid_per_host(table: str) -> str:
    """SQL selecting the rowid of each host's latest row in `table` (by timestamp, then rowid)."""
    return (f"SELECT (SELECT b.rowid FROM {table} AS b WHERE b.host = a.host "
            f"ORDER BY b.timestamp DESC, b.rowid DESC LIMIT 1) FROM {table} AS a GROUP BY a.host")


class StoreError(Exception):
    """A database a user pointed us at that we cannot use; the message is one line."""


def connect(path: str | Path, *, readonly: bool = False, existing: bool = False,
            timeout: float = 5.0) -> sqlite3.Connection:
    """A connection to the store at `path`; read-only ones, and `existing` read-write ones, never create the file."""
    if readonly or existing:
        target, uri = f"{Path(path).resolve().as_uri()}?mode={'ro' if readonly else 'rw'}", True
    else:
        target, uri = str(path), False
    connection = sqlite3.connect(target, uri=uri, timeout=timeout, check_same_thread=False, isolation_level=None)
    connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return connection


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """`BEGIN IMMEDIATE` ... `COMMIT`, rolled back if anything fails.

    SQLite rolls a transaction back by itself on some errors (a full disk), so
    the ROLLBACK is only issued if one is still open: the error raised is the
    one that happened, not "cannot rollback - no transaction is active".
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def check_schema_version(connection: sqlite3.Connection, path: str | Path) -> None:
    """Raise StoreError (closing `connection`) for a database made by a newer monitoringApp."""
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        connection.close()
        raise StoreError(f"{path}: schema version {version} is newer than this monitoringApp "
                         f"understands ({SCHEMA_VERSION})")


def open_store(path: str | Path) -> sqlite3.Connection:
    """Open (creating when missing) the store for writing: WAL, schema, version checked."""
    target = Path(path)
    if not target.parent.exists():
        raise StoreError(f"{path}: directory {str(target.parent)!r} does not exist")
    try:
        connection = connect(target)
        check_schema_version(connection, path)
        foreign = _foreign_tables(connection)
        if foreign:
            connection.close()
            raise StoreError(f"{path}: is another application's database (tables {', '.join(foreign)}), "
                             "not a monitoringApp one")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.executescript(f"BEGIN; {_SCHEMA} {_missing_columns(connection)} "
                                 f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: cannot use as a monitoringApp database: {error}") from None
    return connection


def open_existing_store(path: str | Path, timeout: float = 5.0) -> sqlite3.Connection:
    """A read-write connection to an existing monitoringApp database; never creates or alters the file."""
    target = Path(path)
    if not target.is_file():
        problem = "is not a file" if target.exists() else "database not found"
        raise StoreError(f"{path}: {problem}")
    try:
        connection = connect(target, existing=True, timeout=timeout)
        check_schema_version(connection, path)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: cannot use as a monitoringApp database: {error}") from None
    if "website_monitoring" not in tables:
        connection.close()
        raise StoreError(f"{path}: not a monitoringApp database (no website_monitoring table)")
    return connection


def _foreign_tables(connection: sqlite3.Connection) -> list[str]:
    """The tables of a database that holds tables but none of ours; empty for ours or a new file."""
    tables = [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    ours = {"website_monitoring", "website_alerts"}
    return [] if not tables or ours & set(tables) else tables[:5]


def _missing_columns(connection: sqlite3.Connection) -> str:
    """SQL adding the columns we added since the seed's tables (a seed-made database has no errorKind)."""
    existing = {row[1] for row in connection.execute("PRAGMA table_info(website_monitoring)")}
    if existing and "errorKind" not in existing:
        return "ALTER TABLE website_monitoring ADD COLUMN errorKind TEXT;"
    return ""


def probe_row(probe: Probe) -> ProbeRow:
    return (iso_utc(probe.timestamp), probe.host, int(probe.available), probe.status,
            probe.response_time_ms, probe.error.value if probe.error is not None else None)


def probe_from_row(row: ProbeRow) -> Probe:
    timestamp, host, available, status, response_time, error = row
    return Probe(parse_iso(timestamp), host, bool(available), status, response_time,
                 ErrorKind(error) if error else None)


def alert_row(transition: AlertTransition) -> AlertRow:
    return (iso_utc(transition.timestamp), transition.host, transition.kind.value,
            iso_utc(transition.start),
            iso_utc(transition.end) if transition.end is not None else None,
            transition.availability)


def alert_from_row(row: AlertRow) -> AlertTransition:
    timestamp, host, kind, start, end, availability = row
    return AlertTransition(parse_iso(timestamp), host, TransitionKind(kind), availability,
                           parse_iso(start), parse_iso(end) if end else None)

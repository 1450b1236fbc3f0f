"""The SQLite log's schema, its migrations, its connections and the mapping between rows and events.

`website_monitoring` and `website_alerts` are a public contract: columns may be added, never renamed or
dropped; the seed's columns keep their order. Timestamps are fixed-width ISO-8601 UTC text, so text
order is time order. Schema version 2 (`PRAGMA user_version`) added, on both tables, an `id INTEGER
PRIMARY KEY AUTOINCREMENT` (a reader's cursor: a VACUUM never renumbers it and a purge never lets it be
reused) and `location`; `detail` on both; `transitionId` on the alerts (the same in every backend, see
`domain.events.transition_id`); and let `type` take kinds beyond `alert` and `recovery` with
`availability` NULL where it has no meaning. The table `monitoringapp_log` names this log instance.
Schema version 3 added the rollups, `website_rollups_minute` and `website_rollups_hour` (see `rollups`),
which the writer fills in from the raw probes when a file has none. Schema version 4 added
`certificateNotAfter` to the probes (an https probe's certificate's notAfter, ISO text; NULL otherwise), and
the alerts' `type` `certificate` (`startDate` the certificate's notAfter, `endDate` when the warning fell due,
`availability` NULL).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from monitoringapp.domain.events import LOCAL, AlertTransition, ErrorKind, Probe, TransitionKind, transition_id
from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.store.log import StoreError

SCHEMA_VERSION = 4
PROBE_TABLE = "website_monitoring"
ALERT_TABLE = "website_alerts"
META_TABLE = "monitoringapp_log"
MINUTE_TABLE = "website_rollups_minute"
HOUR_TABLE = "website_rollups_hour"
OUR_TABLES = frozenset({PROBE_TABLE, ALERT_TABLE})

_PROBE_TABLE_SQL = f"""
CREATE TABLE {PROBE_TABLE} (
    timestamp TEXT NOT NULL,
    host TEXT NOT NULL,
    available INTEGER NOT NULL,
    status INTEGER,
    responseTime REAL,
    errorKind TEXT,
    location TEXT NOT NULL DEFAULT '{LOCAL}',
    detail TEXT,
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    certificateNotAfter TEXT
)"""
_ALERT_TABLE_SQL = f"""
CREATE TABLE {ALERT_TABLE} (
    timestamp TEXT NOT NULL,
    host TEXT NOT NULL,
    type TEXT NOT NULL,
    startDate TEXT NOT NULL,
    endDate TEXT,
    availability REAL,
    location TEXT NOT NULL DEFAULT '{LOCAL}',
    detail TEXT,
    transitionId TEXT NOT NULL,
    id INTEGER PRIMARY KEY AUTOINCREMENT
)"""
_INDEXES_SQL = f"""
CREATE INDEX IF NOT EXISTS website_monitoring_by_time ON {PROBE_TABLE} (timestamp);
CREATE INDEX IF NOT EXISTS website_alerts_by_host ON {ALERT_TABLE} (host, timestamp);
CREATE INDEX IF NOT EXISTS website_alerts_by_transition ON {ALERT_TABLE} (transitionId);
"""
_ROLLUP_TABLES_SQL = [f"""
CREATE TABLE IF NOT EXISTS {table} (
    host TEXT NOT NULL,
    start INTEGER NOT NULL,
    checks INTEGER NOT NULL,
    available INTEGER NOT NULL,
    rtCount INTEGER NOT NULL,
    rtSum REAL NOT NULL,
    rtMin REAL,
    rtMax REAL,
    sketch BLOB,
    outcomes TEXT,
    PRIMARY KEY (host, start)
) WITHOUT ROWID""" for table in (MINUTE_TABLE, HOUR_TABLE)]
_META_SQL = f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

PROBE_COLUMNS = ("timestamp", "host", "available", "status", "responseTime", "errorKind", "location", "detail",
                 "certificateNotAfter")
ALERT_COLUMNS = ("timestamp", "host", "type", "startDate", "endDate", "availability", "location", "detail",
                 "transitionId")
# What an older file lacks reads as these (a reader never alters a file to read it).
_ABSENT = {"errorKind": "NULL", "location": f"'{LOCAL}'", "detail": "NULL", "transitionId": "NULL",
           "certificateNotAfter": "NULL"}
# Columns added after schema 2, each by a plain ALTER TABLE ADD COLUMN (the rows stay as they are).
_ADDED_COLUMNS = {PROBE_TABLE: (("certificateNotAfter", "TEXT"),)}

ProbeRow = tuple[str, str, int, int | None, float | None, str | None, str, str | None, str | None]
AlertRow = tuple[str, str, str, str, str | None, float | None, str, str | None, str]

INSERT_PROBE = f"INSERT INTO {PROBE_TABLE} ({', '.join(PROBE_COLUMNS)}) VALUES ({', '.join('?' * 9)})"
INSERT_ALERT = f"INSERT INTO {ALERT_TABLE} ({', '.join(ALERT_COLUMNS)}) VALUES ({', '.join('?' * 9)})"


def connect(path: str | Path, *, readonly: bool = False, existing: bool = False, immutable: bool = False,
            timeout: float = 5.0) -> sqlite3.Connection:
    """A connection to the log at `path`; read-only ones, and `existing` read-write ones, never create the file.
    `immutable` (read-only) tells SQLite nobody changes the file while it is open: no locks, no -wal or -shm,
    so it reads a file in a directory it may not write; only for a file in that state (see `reader`).

    Autocommit (`isolation_level=None`): every transaction here is explicit."""
    if readonly or existing:
        mode = "ro&immutable=1" if immutable else "ro" if readonly else "rw"
        target, uri = f"{Path(path).resolve().as_uri()}?mode={mode}", True
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


def tables(connection: sqlite3.Connection) -> set[str]:
    return {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}


def columns_of(connection: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]


def has_stable_ids(connection: sqlite3.Connection, table: str) -> bool:
    """Whether `table` numbers its rows for good (schema 2's `id INTEGER PRIMARY KEY AUTOINCREMENT`). A table
    from before has only SQLite's rowid, which a VACUUM may renumber and which is given again once the newest
    row is deleted: readers' cursors are these numbers."""
    return "id" in columns_of(connection, table)


def is_busy(error: sqlite3.Error) -> bool:
    """Whether `error` is SQLite's "another connection holds it" (SQLITE_BUSY, SQLITE_LOCKED): try again later."""
    return _errorcode(error) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_full(error: sqlite3.Error) -> bool:
    """Whether `error` is SQLite's "the disk is full" (SQLITE_FULL): space may be freed, try again later."""
    return _errorcode(error) == sqlite3.SQLITE_FULL


def check_usable(connection: sqlite3.Connection, path: str | Path) -> int:
    """The schema version of the file behind `connection`, once it is known to be ours or empty:
    StoreError for a newer version or another application's tables. Reads only."""
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        found = tables(connection)
    except sqlite3.DatabaseError as error:
        if is_busy(error):
            raise  # held by a writer for now (a migration at its start): a reader waits, a writer says so
        raise unusable(path, error) from None
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: schema version {version} is newer than this monitoringApp "
                         f"understands ({SCHEMA_VERSION})")
    if found and not OUR_TABLES & found:
        raise StoreError(f"{path}: is another application's database (tables {', '.join(sorted(found)[:5])}), "
                         "not a monitoringApp one")
    if PROBE_TABLE in found:
        seed_columns = {"timestamp", "host", "available", "status", "responseTime"}
        missing = seed_columns - set(columns_of(connection, PROBE_TABLE))
        if missing:
            raise StoreError(f"{path}: {PROBE_TABLE} lacks column(s) {', '.join(sorted(missing))}: "
                             "not a monitoringApp database")
    return version


def check_directory(path: str | Path) -> None:
    """StoreError unless the directory `path` is in exists: no writer creates one, so no database will come
    into a directory that is missing."""
    parent = Path(path).parent
    if not parent.exists():
        raise StoreError(f"{path}: directory {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise StoreError(f"{path}: {str(parent)!r} is not a directory")


def check_existing_file(path: str | Path) -> None:
    """StoreError unless a database file is at `path`, saying what is missing: its directory, or the file."""
    target = Path(path)
    if not target.is_file():
        if not target.exists():
            check_directory(path)
        raise StoreError(f"{path}: {'is not a file' if target.exists() else 'database not found'}")


def check_for_writing(path: str | Path, *, timeout: float = 5.0) -> int:
    """The schema version of the log at `path` (0 when it does not exist yet), once it is known that a writer
    may use it: StoreError if not. Writes nothing and creates nothing, beside the file or in it."""
    target = Path(path)
    check_directory(path)
    if target.exists() and not target.is_file():
        raise StoreError(f"{path}: is not a file")
    _check_writable_directory(target, path, "-wal, -shm and .lock files")
    if not target.exists():
        return 0
    _check_writable_file(target, path)
    try:
        # Read-write but never creating: unlike a read-only one, it removes the -wal and -shm files it
        # opened when it closes, so a file refused here is left exactly as it was.
        probe = connect(target, existing=True, timeout=timeout)
        try:
            return check_usable(probe, path)
        finally:
            probe.close()
    except sqlite3.DatabaseError as error:
        raise unusable(path, error) from None


def unusable(path: str | Path, error: sqlite3.DatabaseError) -> StoreError:
    """The line for a file SQLite failed to open or write with `error`: busy, on a full disk, or not usable."""
    if is_busy(error):  # past the busy timeout
        return StoreError(f"{path}: busy (locked by another process); try again")
    free = _free_bytes(path)
    if _errorcode(error) in (sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL) and free is not None and free < FULL_BELOW:
        # SQLite's "disk I/O error" (no room for the -shm's 32 kB) would read as a damaged file.
        return StoreError(f"{path}: its file system is full ({free:,} bytes free): SQLite makes its -wal and -shm "
                          "files beside it to open it; free some space and start again")
    return StoreError(f"{path}: cannot use as a monitoringApp database: {error}")


FULL_BELOW = 1 << 20
"""Bytes free under which a file system that failed SQLite is said to be full (its -shm alone takes 32 kB)."""


def _errorcode(error: sqlite3.Error) -> int:
    """SQLite's primary result code of `error` (SQLITE_IOERR for SQLITE_IOERR_SHMSIZE)."""
    return int(getattr(error, "sqlite_errorcode", 0)) & 0xFF


def _free_bytes(path: str | Path) -> int | None:
    try:
        found = os.statvfs(Path(path).resolve().parent)
    except OSError:
        return None
    return found.f_bavail * found.f_frsize


def _check_writable_directory(target: Path, path: str | Path, files: str) -> None:
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise StoreError(f"{path}: directory {str(target.parent)!r} is not writable (a writer creates its {files} "
                         "beside the database)")


def _check_writable_file(target: Path, path: str | Path) -> None:
    # SQLite would open a read-only file read-only without a word, leave -wal and -shm files beside it
    # on the first read, and fail only at the first write.
    if not os.access(target, os.W_OK):
        raise StoreError(f"{path}: is read-only (permission denied); this mode writes to it")
    # SQLite names the -wal and -shm after the name it opened: a writer through one hard link and a writer
    # (or the lock) through another would not see each other, and the file would be damaged.
    links = os.stat(target).st_nlink
    if links > 1:
        raise StoreError(f"{path}: has {links} hard links; SQLite keeps its -wal and -shm by name, so writing "
                         "through more than one would damage it (remove the other links, or write to a copy)")


# The -wal file is cut back to this size whenever the writer starts it again from its beginning (after a checkpoint
# that copied it all, once no reader uses it): twice the 1,000 pages after which SQLite checkpoints. Without it the
# file keeps the size of its longest run between two such restarts, and a monitor read by -w and a notifier met a
# longer one now and then: its -wal grew from 4.0 to 4.8 MB in 30 minutes, in steps, and was never cut back.
WAL_SIZE_LIMIT = 8 * 1024 * 1024


def open_for_writing(path: str | Path, *, timeout: float = 5.0) -> sqlite3.Connection:
    """The writer's connection to the log at `path`, created when missing: checked first (nothing is written
    to a file that is refused), then migrated to the current schema, in WAL mode."""
    version = check_for_writing(path, timeout=timeout)
    try:
        connection = connect(Path(path), timeout=timeout)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: cannot use as a monitoringApp database: {error}") from None
    try:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        connection.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        _migrate(connection, version)
    except sqlite3.DatabaseError as error:
        connection.close()
        raise unusable(path, error) from None  # held by another writer: busy, not unusable
    return connection


def open_existing(path: str | Path, timeout: float = 5.0) -> sqlite3.Connection:
    """A read-write connection to an existing monitoringApp log; never creates, migrates or alters the file."""
    target = Path(path)
    check_existing_file(target)
    _check_writable_file(target, path)
    # SQLite writes through a -wal and -shm (or a -journal) it makes beside the file: "attempt to write a readonly
    # database", as if the file were, at the first write.
    _check_writable_directory(target, path, "-wal and -shm files")
    try:
        connection = connect(target, existing=True, timeout=timeout)
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: cannot use as a monitoringApp database: {error}") from None
    try:
        check_usable(connection, path)
        if PROBE_TABLE not in tables(connection):
            raise StoreError(f"{path}: not a monitoringApp database (no {PROBE_TABLE} table)")
    except StoreError:
        connection.close()
        raise
    except sqlite3.DatabaseError as error:
        connection.close()
        raise unusable(path, error) from None
    return connection


def _migrate(connection: sqlite3.Connection, version: int) -> None:
    """Bring the file to SCHEMA_VERSION in one transaction: create what is missing, rebuild older tables."""
    existing = tables(connection)
    with write_transaction(connection):
        for table, create_sql in ((PROBE_TABLE, _PROBE_TABLE_SQL), (ALERT_TABLE, _ALERT_TABLE_SQL)):
            if table not in existing:
                connection.execute(create_sql)
            elif version < 2:
                _rebuild(connection, table, create_sql)
        for table, added in _ADDED_COLUMNS.items():
            present = set(columns_of(connection, table))
            for column, kind in added:
                if column not in present:
                    connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        for statement in _INDEXES_SQL.split(";"):  # executescript would commit first
            if statement.strip():
                connection.execute(statement)
        for create_sql in _ROLLUP_TABLES_SQL:  # filled in by the writer (`rollups.rebuild`)
            connection.execute(create_sql)
        connection.execute(_META_SQL)
        # 128 random bits in hex, as a uuid4's (not `uuid` itself: it brings `platform`, 0.6 MB a monitor would hold
        # for this one call at every opening).
        connection.execute(f"INSERT OR IGNORE INTO {META_TABLE} (key, value) VALUES ('logId', ?)",
                           (os.urandom(16).hex(),))
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _rebuild(connection: sqlite3.Connection, table: str, create_sql: str) -> None:
    """Copy a table made before schema 2 into the current shape, keeping every row and its rowid as its id."""
    old = f"{table}_before_v2"
    connection.execute(f"ALTER TABLE {table} RENAME TO {old}")
    for (index,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                       "AND sql IS NOT NULL", (old,)).fetchall():
        connection.execute(f"DROP INDEX {index}")
    connection.execute(create_sql)
    if table == ALERT_TABLE:
        # The id a live transition gets: its start read back from the text the store wrote.
        connection.create_function("transition_id_of", 3, lambda host, kind, start: transition_id(
            host, LOCAL, kind, parse_iso(start)), deterministic=True)
        target = ["timestamp", "host", "type", "startDate", "endDate", "availability", "transitionId"]
        source = [*target[:-1], "transition_id_of(host, type, startDate)"]
    else:
        target = ["timestamp", "host", "available", "status", "responseTime", "errorKind"]
        # A database the seed app made has no errorKind column.
        has_error_kind = "errorKind" in columns_of(connection, old)
        source = [*target[:-1], "errorKind" if has_error_kind else "NULL"]
    connection.execute(f"INSERT INTO {table} (id, {', '.join(target)}) "
                       f"SELECT rowid, {', '.join(source)} FROM {old} ORDER BY rowid")
    connection.execute(f"DROP TABLE {old}")


def select_columns(connection: sqlite3.Connection, table: str) -> str:
    """The SELECT list of `table`'s event columns as this file has them (older files lack some)."""
    wanted = PROBE_COLUMNS if table == PROBE_TABLE else ALERT_COLUMNS
    present = set(columns_of(connection, table))
    return ", ".join(column if column in present else _ABSENT[column] for column in wanted)


def log_id(connection: sqlite3.Connection) -> str | None:
    """The id this log got at creation; None for a file made before schema 2."""
    try:
        row = connection.execute(f"SELECT value FROM {META_TABLE} WHERE key = 'logId'").fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row is not None else None


def latest_rowid_per_host(table: str, kinds: str = "", *, hosts: int | None = None) -> str:
    """SQL selecting the rowid of each host's latest row in `table` (by timestamp, then rowid); with `kinds`
    (an SQL condition on `type`), the latest such row. Of every host in `table`, or of `hosts` hosts (at most
    `HOSTS_IN_SQL`), its parameters: then each host's rows are read in the `(host, timestamp)` index back from
    its newest to the first such row, and no other site's row is read (a host with none gives NULL, which
    `rowid IN` never matches)."""
    where = f" AND b.{kinds}" if kinds else ""
    latest = (f"SELECT b.rowid FROM {table} AS b WHERE b.host = a.host{where} "
              "ORDER BY b.timestamp DESC, b.rowid DESC LIMIT 1")
    if hosts is not None:
        return f"SELECT ({latest}) FROM (SELECT column1 AS host FROM (VALUES {', '.join(['(?)'] * hosts)})) AS a"
    outer = f" WHERE a.{kinds}" if kinds else ""
    return f"SELECT ({latest}) FROM {table} AS a{outer} GROUP BY a.host"


HOSTS_IN_SQL = 500
"""The most sites a read names in its SQL, one parameter each (SQLite before 3.32 takes 999 at most); a read of
more sites reads every site's rows and keeps theirs, as a read of that many sites reads most of the log anyway."""


ALERT_STATE_KINDS = "type IN ('alert', 'recovery')"
# An evaluator's state of each location of a site (projection.pasts): its latest own alert or recovery, and
# its latest silence or return.
LOCATION_STATE_ROWIDS = (f"SELECT max(rowid) FROM {ALERT_TABLE} WHERE type IN ('location-alert', "
                         "'location-recovery', 'silent', 'resumed') GROUP BY host, location, "
                         "type IN ('silent', 'resumed')")
# Each certificate's (site, notAfter) tightest warning told (the latest `endDate`): what a certificate watch
# restarts from, so it never warns of a threshold twice.
TIGHTEST_CERTIFICATE_WARNING_ROWIDS = (
    f"SELECT (SELECT b.rowid FROM {ALERT_TABLE} AS b WHERE b.host = a.host AND b.startDate = a.startDate AND "
    "b.type = 'certificate' ORDER BY b.endDate DESC, b.timestamp DESC, b.rowid DESC LIMIT 1) "
    f"FROM {ALERT_TABLE} AS a WHERE a.type = 'certificate' GROUP BY a.host, a.startDate")


def remembered_alert_rowids(connection: sqlite3.Connection) -> str:
    """SQL selecting the alert rows a restart rebuilds its state from (a purge keeps them, however old): each
    site's alert state, each location's, and each certificate's tightest warning (a file from before schema 2
    has no locations)."""
    locations = [LOCATION_STATE_ROWIDS] if "location" in columns_of(connection, ALERT_TABLE) else []
    return " UNION ".join((latest_rowid_per_host(ALERT_TABLE, ALERT_STATE_KINDS), *locations,
                           TIGHTEST_CERTIFICATE_WARNING_ROWIDS))


def insert_events(connection: sqlite3.Connection, probes: Iterable[Probe],
                  transitions: Iterable[AlertTransition] = ()) -> None:
    """Append `probes` and `transitions` as rows (inside the caller's transaction, if any)."""
    connection.executemany(INSERT_PROBE, map(probe_row, probes))
    connection.executemany(INSERT_ALERT, map(alert_row, transitions))


def probe_row(probe: Probe) -> ProbeRow:
    return (iso_utc(probe.timestamp), probe.host, int(probe.available), probe.status,
            probe.response_time_ms, probe.error.value if probe.error is not None else None,
            probe.location, probe.detail,
            iso_utc(probe.certificate_expiry) if probe.certificate_expiry is not None else None)


ERROR_KINDS_BY_NAME = {kind.value: kind for kind in ErrorKind}


def probe_from_row(row: ProbeRow) -> Probe:
    timestamp, host, available, status, response_time, error, location, detail, not_after = row
    return Probe(fast_parse_iso(timestamp), host, bool(available), status, response_time,
                 ERROR_KINDS_BY_NAME[error] if error else None, location, detail,
                 parse_iso(not_after) if not_after else None)


_SECONDS: dict[str, int] = {}


def fast_parse_iso(text: str) -> float:
    """`parse_iso` of the store's own fixed-width text (`2026-11-24T12:00:00.123Z`), about five times faster:
    consecutive rows share their second, whose value is remembered (a few thousand at most)."""
    if len(text) != 24 or text[19] != "." or text[23] != "Z":
        return parse_iso(text)
    second = text[:19]
    base = _SECONDS.get(second)
    if base is None:
        if len(_SECONDS) > 4096:
            _SECONDS.clear()
        base = _SECONDS[second] = round(parse_iso(second + "Z")) * 1000
    return (base + int(text[20:23])) / 1000  # one correctly rounded division, as parse_iso's


def alert_row(transition: AlertTransition) -> AlertRow:
    return (iso_utc(transition.timestamp), transition.host, transition.kind.value,
            iso_utc(transition.start),
            iso_utc(transition.end) if transition.end is not None else None,
            transition.availability, transition.location, transition.detail, transition.id)


_KINDS = {kind.value: kind for kind in TransitionKind}


def alert_from_row(row: AlertRow) -> AlertTransition | None:
    """The transition a row holds; None for a kind this version does not know (a newer writer's)."""
    timestamp, host, kind, start, end, availability, location, detail, _ = row
    known = _KINDS.get(kind)
    if known is None:
        return None
    return AlertTransition(parse_iso(timestamp), host, known, availability,
                           parse_iso(start), parse_iso(end) if end else None, location, detail)

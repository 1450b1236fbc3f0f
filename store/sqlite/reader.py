"""The SQLite log read: `LogReader` over a database file that monitors write and readers only read.

Opens the file read-only (`mode=ro`), lazily, so a reader may start before any monitor: until the file
exists, and while it is locked or busy, each read raises `LogUnavailable` and the follower tries again at
its next poll. Every read is one snapshot, ended at once, so a reader never holds back a monitor's WAL
checkpoints.

Readers need no write access. A WAL database that a monitor writes has its `-wal` and `-shm` files, and
`mode=ro` reads it through them. One that no monitor writes has no `-wal`: SQLite would create both to
read it, which it cannot in a directory the reader may not write (a container's `:ro` volume), so there
the file is opened `immutable` (no locks, no files), checked again before every read, and reopened as
soon as a `-wal` appears (a monitor started) or the file changes. Where the reader may write, it lets
SQLite create them and, when it closes, has SQLite remove them again (`_tidy`), so a reader of a stopped
monitor's database leaves nothing beside it.

A poll that finds nothing new is one `PRAGMA data_version`, per feed: SQLite bumps it when another
connection commits. A file replaced by another (a restore, a new database) gets a new log id: a cursor of
the old one is re-anchored by its event time.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import threading
from array import array
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import lru_cache
from itertools import islice, repeat
from operator import gt, itemgetter, truediv
from pathlib import Path
from typing import Any, TypeVar

from monitoringapp.domain.events import (
    ERROR_NUMBER,
    NO_RESPONSE_MS,
    STATUS_SHIFT,
    AlertTransition,
    ErrorKind,
    LastOutcomes,
    Probe,
    ProbeColumns,
)
from monitoringapp.domain.timefmt import iso_utc, parse_iso
from monitoringapp.operators.rollup import HOUR, MINUTE, Rollup
from monitoringapp.store.log import Cursor, Entry, Feed, LogNotCreated, LogUnavailable, Page, StoreError
from monitoringapp.store.sqlite.history import HistoryChild, HistoryChildFailed, HistorySpan
from monitoringapp.store.sqlite.outcomes import SitesOutcomes, recent_outcomes, site_hosts
from monitoringapp.store.sqlite.rollups import read_rollups
from monitoringapp.store.sqlite.schema import (
    ALERT_STATE_KINDS,
    ALERT_TABLE,
    ERROR_KINDS_BY_NAME,
    HOSTS_IN_SQL,
    HOUR_TABLE,
    PROBE_TABLE,
    AlertRow,
    ProbeRow,
    alert_from_row,
    check_directory,
    check_usable,
    connect,
    fast_parse_iso,
    is_busy,
    latest_rowid_per_host,
    log_id,
    probe_from_row,
    select_columns,
    tables,
)

E = TypeVar("E")
R = TypeVar("R")

HISTORY_CHILD_FROM_ROWS = 100_000
"""A past whose rows (every site's, in its time) span at least this many rowids is read in a child process, for
the sites asked for: a restart's, or a reload's added sites' on a long-running monitor. Its start costs about 0.1 s
of CPU and 20 MB (30-35 MB at its peak, reading): worth it for the seconds an hour of 1,000 sites takes, not for
the tenth of a second of a short past (a monitor just started, a test's few rows)."""
# A reader that finds the database locked tries again at the next poll rather than wait for it.
BUSY_TIMEOUT = 0.05
_TABLES = {Feed.PROBES: PROBE_TABLE, Feed.TRANSITIONS: ALERT_TABLE}


class SqliteLogReader:
    """`LogReader` of the database at `path`; safe to share between threads (one read at a time)."""

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT,
                 history_child_from: int | None = HISTORY_CHILD_FROM_ROWS,
                 warn: Callable[[str], None] | None = None) -> None:
        """`history_child_from`: a `probe_history` of at least this many rowids reads in a child process (None:
        never); `warn` is told, in one line, when that child fails and the rest is read here."""
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.history_child_from = history_child_from
        self.warn = warn
        self._children: set[HistoryChild] = set()
        self._connection: sqlite3.Connection | None = None
        self._identity: tuple[int, ...] | None = None
        self._immutable = False
        self._made_wal = False  # no -wal was there when this reader's connection opened: it made one
        self._log = ""
        self._version = 0
        self._columns: dict[str, str] = {}
        self._has_rollups = False
        # Per feed, (data_version, end position) at its last read: an `_after` from that end or beyond, with nothing
        # committed since, has nothing to read. The end, not only the version: a read of some sites' past
        # (`*_since`) sees the same version as a cursor left further back by another read of the feed.
        self._seen_versions: dict[Feed, tuple[int, int]] = {}
        self._entries_end: tuple[int, int] | None = None  # (data_version, end position) at the last entries read
        self._lock = threading.RLock()
        self.reads = 0  # snapshots that read rows (an idle poll reads none)

    # -- LogReader -------------------------------------------------------------------------------------

    def probes_since(self, since: float | None, hosts: Collection[str] | None = None) -> Page[Probe]:
        return self._page(Feed.PROBES, since, ">", hosts, _decode_probes)

    def probes_after(self, cursor: Cursor, hosts: Collection[str] | None = None) -> Page[Probe]:
        return self._after(Feed.PROBES, cursor, hosts, _decode_probes)

    def transitions_since(self, since: float | None,
                          hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        return self._page(Feed.TRANSITIONS, since, ">=", hosts, _decode_transitions)

    def transitions_after(self, cursor: Cursor, hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        return self._after(Feed.TRANSITIONS, cursor, hosts, _decode_transitions)

    def transition_entries_after(self, cursor: Cursor, limit: int = 500) -> Page[Entry[AlertTransition]]:
        with self._snapshot() as connection:
            data_version = self._data_version(connection)
            if (cursor.log == self._log and self._entries_end is not None
                    and self._entries_end[0] == data_version and cursor.position >= self._entries_end[1]):
                return Page([], cursor)  # nothing committed since a read that reached the end
            position = cursor.position if cursor.log in (self._log, "") else self._anchor(connection, ALERT_TABLE,
                                                                                          cursor)
            rows = connection.execute(f"SELECT rowid, {self._columns[ALERT_TABLE]} FROM {ALERT_TABLE} "
                                      "WHERE rowid > ? ORDER BY rowid LIMIT ?", (position, limit)).fetchall()
            if len(rows) < limit:
                self._entries_end = (data_version, int(rows[-1][0]) if rows else position)
            self.reads += bool(rows)
        entries: list[Entry[AlertTransition]] = []
        for row in rows:
            transition = alert_from_row(row[1:])
            if transition is not None:
                entries.append(Entry(transition, Cursor(self._log, int(row[0]), transition.timestamp)))
        if not rows:
            return Page([], Cursor(self._log, position, cursor.time))
        return Page(entries, Cursor(self._log, int(rows[-1][0]), parse_iso(rows[-1][1])))

    def transitions_end(self) -> Cursor:
        with self._snapshot() as connection:
            return self._end(connection, ALERT_TABLE)

    def latest_probe_time(self) -> float | None:
        with self._snapshot() as connection:
            row = connection.execute(f"SELECT max(timestamp) FROM {PROBE_TABLE}").fetchone()
        return None if row[0] is None else parse_iso(row[0])

    def last_stored_probe_time(self) -> float | None:
        with self._snapshot() as connection:  # the rowid is the order of appends: one step into the table
            row = connection.execute(f"SELECT timestamp FROM {PROBE_TABLE} ORDER BY rowid DESC LIMIT 1").fetchone()
        return None if row is None else parse_iso(row[0])

    def first_probe_time_after(self, moment: float) -> float | None:
        with self._snapshot() as connection:  # the time index: one step into it
            row = connection.execute(f"SELECT min(timestamp) FROM {PROBE_TABLE} WHERE timestamp > ?",
                                     (iso_utc(moment),)).fetchone()
        return None if row[0] is None else parse_iso(row[0])

    def last_transitions(self, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
        named = _named(hosts)
        if named == []:
            return {}
        with self._snapshot() as connection:
            # Among the rows a purge with --alerts keeps (each site's alert state, whatever its age).
            latest_rowids = latest_rowid_per_host(ALERT_TABLE, ALERT_STATE_KINDS,
                                                  hosts=None if named is None else len(named))
            rows = connection.execute(f"SELECT {self._columns[ALERT_TABLE]} FROM {ALERT_TABLE} "
                                      f"WHERE rowid IN ({latest_rowids})", named or ()).fetchall()
        latest = (alert_from_row(row) for row in (rows if named is not None else _of_hosts(rows, hosts)))
        return {transition.host: transition for transition in latest if transition is not None}

    # -- the web page's reads, beside the followers' ------------------------------------------------------

    def rollups(self, since: float, until: float, step: float, hosts: Collection[str] | None = None, *,
                detail: bool = False) -> Page[Rollup]:
        if step < MINUTE or step % MINUTE:
            raise ValueError(f"step must be whole minutes, got {step!r}")
        span = HOUR if step % HOUR == 0 else MINUTE
        with self._snapshot() as connection:
            end = self._end(connection, PROBE_TABLE)
            self._has_rollups = self._has_rollups or HOUR_TABLE in tables(connection)
            if not self._has_rollups:
                return Page([], end)  # a file from before schema 3 that no monitor has opened since
            found = read_rollups(connection, span, since, until, hosts, step, detail)
            self.reads += 1
        return Page(found, end)

    def probes_between(self, host: str, since: float, until: float, limit: int) -> list[Probe]:
        with self._snapshot() as connection:
            # The time index narrows the range; the host is filtered on the way (no per-host index to keep).
            rows = connection.execute(
                f"SELECT {self._columns[PROBE_TABLE]} FROM {PROBE_TABLE} WHERE timestamp > ? AND timestamp <= ? "
                "AND host = ? ORDER BY timestamp, rowid LIMIT ?",
                (iso_utc(since), iso_utc(until), host, limit)).fetchall()
            self.reads += 1
        return _decode_probes(rows)

    def last_outcomes(self, before: float, hosts: Collection[str] | None = None) -> dict[str, LastOutcomes]:
        """Through the rollups (see `store.sqlite.outcomes`): exact while the probes are kept, to the minute
        (the hour after 14 days) where retention has purged them; none from a file without rollups (from
        before schema 3, which no monitor has opened since)."""
        with self._snapshot() as connection:
            self._has_rollups = self._has_rollups or HOUR_TABLE in tables(connection)
            if not self._has_rollups:
                return {}
            wanted = sorted(site_hosts(connection) if hosts is None else hosts)
            recent = recent_outcomes(connection, wanted, before).outcomes()
            self.reads += 1
        sites = SitesOutcomes(wanted, before, recent)
        while not sites.done:
            with self._snapshot() as connection:  # one round a snapshot: a monitor's checkpoints wait for none long
                sites.round(connection)
                self.reads += 1
        return sites.found

    def sites(self) -> frozenset[str]:
        with self._snapshot() as connection:
            rows = connection.execute(f"SELECT DISTINCT host FROM {ALERT_TABLE} UNION "
                                      f"SELECT DISTINCT host FROM {PROBE_TABLE}").fetchall()
        return frozenset(str(row[0]) for row in rows)

    def probe_history(self, since: float, before: float, hosts: Collection[str] | None = None,
                      rows: int = 20_000) -> Iterator[tuple[ProbeColumns, ...]]:
        # Read by rowid, newest first, `rows` rowids at a time: a walk down the table with no index look-up per
        # row. Rowid order is time order for each site (a site has one probe in flight at a time, so its
        # probes are stored in order), which is all the windows need.
        wanted = None if hosts is None else hosts if isinstance(hosts, set | frozenset) else set(hosts)
        low, high = iso_utc(since), iso_utc(before)
        with self._snapshot() as connection:
            lowest, top = connection.execute(f"SELECT min(rowid), max(rowid) FROM {PROBE_TABLE} WHERE timestamp > ?",
                                             (low,)).fetchone()
        if lowest is None:
            return
        span = HistorySpan(low, high, None if wanted is None else tuple(sorted(wanted)), rows, lowest, top + 1)
        if self.history_child_from is None or top - lowest < self.history_child_from:
            yield from self.history_pages(span)
            return
        # A long past is read in a child process, on the other core with a GIL of its own: here the pages cost a
        # copy of their columns. Should the child fail, the pages it has not given are read here.
        child = HistoryChild(self.path, self.busy_timeout, span)
        with self._lock:
            self._children.add(child)
        try:
            for sites, below in child.pages():
                self.reads += 1
                span = replace(span, above=below)
                if sites:
                    yield sites
        except HistoryChildFailed as failure:
            if child.stopped:
                return  # the reader was closed: no fall-back to reading here
            if self.warn is not None:
                self.warn(f"warning: {self.path}: {failure}; the rest of the past is read in this process")
            yield from self.history_pages(span)
        finally:
            child.stop()
            with self._lock:
                self._children.discard(child)

    def history_pages(self, span: HistorySpan) -> Iterator[tuple[ProbeColumns, ...]]:
        """The pages of `span`, newest first, each read in a snapshot of its own (one empty of `span`'s hosts is
        not given); the child process's reading, and this process's when there is no child."""
        wanted = None if span.hosts is None else frozenset(span.hosts)
        below = span.above
        while below > span.lowest:
            found, below = self.history_rows(span, below)
            sites = history_columns(found, wanted)
            if sites:
                yield sites

    def history_rows(self, span: HistorySpan, above: int) -> tuple[list[HistoryRow], int]:
        """The rows of the page of `span` just below rowid `above` (`history_columns` decodes them) and the rowid
        it starts at (where the next one ends)."""
        below = max(span.lowest, above - span.rows)
        named = _named(span.hosts)
        with self._snapshot() as connection:
            found = connection.execute(_history_sql(None if named is None else len(named)),
                                       (below, above, span.low, span.high, *(named or ()))).fetchall()
            self.reads += 1
        return found, below

    def schema_version(self) -> int:
        with self._snapshot():
            return self._version

    def close(self) -> None:
        with self._lock:
            children, self._children = self._children, set()
            for child in children:
                child.stop()
            made_wal = self._made_wal
            self._close_connection()
            if made_wal:
                _tidy(self.path)

    # -- the replay's reads (ProbeArchive) ----------------------------------------------------------------------

    def probe_chunks(self, since: float | None, until: float | None = None, hosts: Collection[str] | None = None,
                     size: int = 20_000) -> Iterator[list[Probe]]:
        # Keyset pages on the time index, (timestamp, rowid) after the last row read: each page one short
        # snapshot, so a long replay never holds back a monitor's checkpoints.
        key: tuple[str, int] = (iso_utc(since) if since is not None else "", 0)
        bound = f" AND timestamp < '{iso_utc(until)}'" if until is not None else ""
        last: int | None = None
        while True:
            with self._snapshot() as connection:
                if last is None:
                    last = self._end(connection, PROBE_TABLE).position
                # The time as whole milliseconds, computed by SQLite (C) where it can: a third of a replay's
                # cost was parsing the text in Python.
                rows = connection.execute(
                    f"SELECT {_MILLIS if _SQL_EPOCH else 'NULL'}, {self._columns[PROBE_TABLE]}, rowid FROM "
                    f"{PROBE_TABLE} WHERE (timestamp, rowid) > (?, ?) AND rowid <= ?{bound} "
                    "ORDER BY timestamp, rowid LIMIT ?", (*key, last, size)).fetchall()
                self.reads += 1
            if not rows:
                return
            key = (rows[-1][1], rows[-1][-1])
            yield _decode_chunk(rows, hosts)
            if len(rows) < size:
                return

    def alert_state_at(self, moment: float, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
        with self._snapshot() as connection:
            rows = connection.execute(
                f"SELECT {self._columns[ALERT_TABLE]} FROM {ALERT_TABLE} WHERE rowid IN (SELECT (SELECT b.rowid FROM "
                f"{ALERT_TABLE} AS b WHERE b.host = a.host AND b.{ALERT_STATE_KINDS} AND b.timestamp < ? ORDER BY "
                f"b.timestamp DESC, b.rowid DESC LIMIT 1) FROM {ALERT_TABLE} AS a GROUP BY a.host)",
                (iso_utc(moment),)).fetchall()
        state = (alert_from_row(row) for row in _of_hosts(rows, hosts))
        return {transition.host: transition for transition in state if transition is not None}

    # -- reading ---------------------------------------------------------------------------------------

    def _page(self, feed: Feed, since: float | None, operator: str, hosts: Collection[str] | None,
              decode: Callable[[Iterable[R]], list[E]]) -> Page[E]:
        """The rows of `feed` whose timestamp is `operator` `since` (all with None), of `hosts` when given, in
        time order: the hosts named in the SQL (`_named`), so the transitions' `(host, timestamp)` index reads
        theirs alone and the probes' rows of other sites are passed over in SQLite, never decoded."""
        table = _TABLES[feed]
        named = _named(hosts)
        conditions, parameters = ([f"timestamp {operator} ?"], [iso_utc(since)]) if since is not None else ([], [])
        if named is not None:
            conditions.append(f"host IN ({', '.join('?' * len(named))})")
            parameters.extend(named)
        where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        with self._snapshot() as connection:
            end = self._end(connection, table)
            self._seen_versions[feed] = (self._data_version(connection), end.position)
            rows = connection.execute(f"SELECT {self._columns[table]} FROM {table} {where}ORDER BY timestamp, rowid",
                                      parameters).fetchall()
            self.reads += 1
        return Page(decode(rows if named is not None else _of_hosts(rows, hosts)), end)

    def _after(self, feed: Feed, cursor: Cursor, hosts: Collection[str] | None,
               decode: Callable[[Iterable[R]], list[E]]) -> Page[E]:
        table = _TABLES[feed]
        with self._snapshot() as connection:
            data_version = self._data_version(connection)
            seen = self._seen_versions.get(feed)
            if cursor.log == self._log and seen is not None and seen[0] == data_version and cursor.position >= seen[1]:
                return Page([], cursor)  # nobody committed since this feed's last read, which ended here
            position = cursor.position if cursor.log in (self._log, "") else self._anchor(connection, table, cursor)
            end = self._end(connection, table)
            self._seen_versions[feed] = (data_version, end.position)
            if end.position <= position:
                return Page([], Cursor(self._log, position, cursor.time))
            rows = connection.execute(f"SELECT {self._columns[table]} FROM {table} WHERE rowid > ? "
                                      "ORDER BY rowid", (position,)).fetchall()
            self.reads += 1
        return Page(decode(_of_hosts(rows, hosts)), end)

    def _end(self, connection: sqlite3.Connection, table: str) -> Cursor:
        row = connection.execute(f"SELECT rowid, timestamp FROM {table} ORDER BY rowid DESC LIMIT 1").fetchone()
        if row is None:
            return Cursor(self._log, 0, None)
        return Cursor(self._log, int(row[0]), parse_iso(row[1]))

    def _anchor(self, connection: sqlite3.Connection, table: str, cursor: Cursor) -> int:
        # Rare (another file took this path): find our place again by time, the one thing both logs share.
        if cursor.time is None:
            return 0
        row = connection.execute(f"SELECT coalesce(max(rowid), 0) FROM {table} WHERE timestamp <= ?",
                                 (iso_utc(cursor.time),)).fetchone()
        return int(row[0])

    @staticmethod
    def _data_version(connection: sqlite3.Connection) -> int:
        return int(connection.execute("PRAGMA data_version").fetchone()[0])

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """One read transaction on a connection to the current file; LogUnavailable or StoreError if none."""
        with self._lock:
            connection = self._connect()
            try:
                connection.execute("BEGIN")
                try:
                    yield connection
                finally:
                    # Never keep a snapshot open between reads: it would hold back the monitor's checkpoints.
                    if connection.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            connection.execute("ROLLBACK")
            except sqlite3.OperationalError as error:
                text = str(error)
                if is_busy(error):
                    raise LogUnavailable("") from None
                _refuse_if_unreadable_here(self.path, text)
                raise LogUnavailable(f"cannot read {self.path} yet ({text}); retrying") from None
            except sqlite3.DatabaseError as error:
                self._close_connection()
                raise StoreError(f"{self.path}: cannot use as a monitoringApp database: {error}") from None

    def _connect(self) -> sqlite3.Connection:
        identity = _identity(self.path)
        if identity is None:
            self._close_connection()
            check_directory(self.path)  # a monitor would refuse it: waiting for one would be for ever
            raise LogNotCreated(f"waiting for {self.path} to be created by a monitor (-m)")
        has_wal = _wal_of(self.path).exists()
        same_file = self._connection is not None and identity[:2] == (self._identity or ())[:2]
        # An immutable connection lasts only while nobody writes: no -wal, and the file as it was.
        if same_file and (not self._immutable or (not has_wal and identity == self._identity)):
            assert self._connection is not None
            return self._connection
        self._close_connection()  # replaced by a new file (its log id tells cursors apart), or now written
        writable_here = os.access(self.path.parent, os.W_OK | os.X_OK)
        if has_wal and not writable_here and not _shm_of(self.path).exists():
            # SQLite reads a -wal through its -shm, which it would have to make here: "unable to open database
            # file", as if the file were not sound.
            _refuse_unreadable_here(self.path, "its -wal has no -shm")
        immutable = not has_wal and not writable_here
        try:
            connection = connect(self.path, readonly=True, immutable=immutable, timeout=self.busy_timeout)
        except sqlite3.OperationalError as error:
            raise LogUnavailable(f"cannot read {self.path} yet ({error}); retrying") from None
        try:
            version = check_usable(connection, self.path)
            found = tables(connection)
            if not {PROBE_TABLE, ALERT_TABLE} <= found:
                raise LogNotCreated(f"waiting for {self.path} to hold monitoringApp's tables")
            self._columns = {table: select_columns(connection, table) for table in (PROBE_TABLE, ALERT_TABLE)}
            self._has_rollups = HOUR_TABLE in found
            self._log = log_id(connection) or f"file:{identity[0]}:{identity[1]}"
        except (StoreError, LogUnavailable):
            self._close_refused(connection, made_wal=not has_wal and not immutable)
            raise
        except sqlite3.OperationalError as error:
            self._close_refused(connection, made_wal=not has_wal and not immutable)
            _refuse_if_unreadable_here(self.path, str(error))
            raise LogUnavailable(f"cannot read {self.path} yet ({error}); retrying") from None
        self._connection, self._identity, self._version = connection, identity, version
        self._immutable, self._made_wal = immutable, not has_wal and not immutable
        self._seen_versions.clear()
        self._entries_end = None
        return connection

    def _close_refused(self, connection: sqlite3.Connection, made_wal: bool) -> None:
        """Close a connection to a file refused (a newer schema, another application's) or not ready, and remove
        the -wal and -shm it made: a reader refused leaves nothing beside the file either."""
        connection.close()
        if made_wal:
            _tidy(self.path)

    def _close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            self._identity = None
            self._made_wal = False


def _wal_of(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def _tidy(path: Path) -> None:
    """Remove the -wal and -shm files a reader made, if nobody else uses them: the last connection to close
    removes them, but only one that may write. So a read-write connection is opened, reads (which joins
    the WAL) and closes: if it is the last one, SQLite itself removes them (an empty WAL is checkpointed
    to nothing); if a monitor has come meanwhile, it leaves them to the monitor."""
    if not os.access(path, os.W_OK):
        return
    with contextlib.suppress(sqlite3.Error):
        connection = connect(path, existing=True, timeout=0.05)
        try:
            connection.execute("PRAGMA schema_version").fetchone()
        finally:
            connection.close()


def _shm_of(path: Path) -> Path:
    return path.with_name(path.name + "-shm")


def _refuse_if_unreadable_here(path: Path, text: str) -> None:
    """A WAL file this reader cannot read here, ever: its -wal is there but SQLite would have to write
    beside it (a missing -shm) in a directory the reader may not write. One line and exit 2, not a retry
    for ever."""
    if "readonly" in text and _wal_of(path).exists() and not os.access(path.parent, os.W_OK | os.X_OK):
        _refuse_unreadable_here(path, text)


def _refuse_unreadable_here(path: Path, why: str) -> None:
    raise StoreError(f"{path}: cannot be read without writing beside it ({why}), and its directory is read-only "
                     "here; read it where a monitor writes it, or copy it") from None


# A restart's past, newest first by rowid, a page at a time, one row per site: SQLite groups the page by site
# and joins each column into one text, so the rows cost Python next to nothing and the reading thread hands
# the GIL back and forth once per site, not per probe (in a busy monitor a thread that lets the GIL go for
# every row waits to get it back each time: measured, 1.4-2 times slower). The timestamp becomes whole
# milliseconds in SQLite (exact: it keeps them as an integer internally), and divided by 1000 the very float
# `parse_iso` gives; response times are written with 17 digits (they read back exactly); the outcome is the
# domain's `outcome_key`.
_ERROR_NUMBER_SQL = ("CASE WHEN errorKind IS NULL THEN 0 "
                     + " ".join(f"WHEN errorKind = '{kind.value}' THEN {n}" for kind, n in ERROR_NUMBER.items())
                     + f" ELSE {ERROR_NUMBER[ErrorKind.OTHER]} END")
@lru_cache(maxsize=64)
def _history_sql(hosts: int | None) -> str:
    """A page of the past: every site's rows (None), or those of `hosts` sites named as parameters after the
    page's bounds. Named in the SQL, the other sites' rows are passed over before their columns are worked out: the
    hour of one site a reload added to a monitor of 300 took 2.3 s of CPU when they were dropped after (0.4 s named;
    every site's hour 3.3 s)."""
    of_hosts = "" if hosts is None else f" AND host IN ({', '.join('?' * hosts)})"
    return ("SELECT host, group_concat(millis), group_concat(responded), group_concat(outcome) FROM ("
            " SELECT host, CAST(round((julianday(timestamp) - 2440587.5) * 86400000.0) AS INTEGER) AS millis,"
            f" CASE WHEN responseTime IS NULL THEN '{NO_RESPONSE_MS!r}' ELSE printf('%!.17g', responseTime) END"
            " AS responded,"
            # SQLite's << and | bind alike, left to right: every term in brackets.
            f" (coalesce(status, 0) << {STATUS_SHIFT}) | (({_ERROR_NUMBER_SQL}) << 1) | (available != 0) AS outcome"
            f" FROM {PROBE_TABLE} WHERE rowid >= ? AND rowid < ? AND timestamp > ? AND timestamp <= ?{of_hosts}"
            " ORDER BY host, rowid) GROUP BY host")


HistoryRow = tuple[str, str, str, str]
"""One site's probes of a page, each column joined into one text: host, milliseconds, response times, outcomes."""


def history_columns(rows: list[HistoryRow], wanted: frozenset[str] | None) -> tuple[ProbeColumns, ...]:
    """A page's rows as columns, of the `wanted` hosts only (all with None)."""
    return tuple(_columns(*site) for site in rows if wanted is None or site[0] in wanted)


def _columns(host: str, millis: str, responded: str, outcomes: str) -> ProbeColumns:
    """One site's page, from its joined columns, packed at C speed."""
    stamps = list(map(int, millis.split(",")))
    times, keys = responded.split(","), outcomes.split(",")
    if any(map(gt, stamps, islice(stamps, 1, None))):  # the page's order, kept (so far) by SQLite's grouping
        stamps, times, keys = (list(column) for column in zip(*sorted(zip(stamps, times, keys, strict=True),
                                                                          key=_FIRST), strict=True))
    return ProbeColumns(host, array("d", map(truediv, stamps, repeat(1000))), array("f", map(float, times)),
                        array("I", map(int, keys)))


_FIRST = itemgetter(0)


def _named(hosts: Collection[str] | None) -> list[str] | None:
    """`hosts` as parameters of a read that names them in its SQL; None for a read of every site's rows (those
    of `hosts` kept by `_of_hosts`): no hosts given, or more than HOSTS_IN_SQL."""
    if hosts is None or len(hosts) > HOSTS_IN_SQL:
        return None
    return sorted(set(hosts))


def _of_hosts(rows: list[Any], hosts: Collection[str] | None) -> Iterable[Any]:
    # Other sites' rows are skipped before they are decoded (about 1 µs a row); the host is column 1.
    if hosts is None:
        return rows
    wanted = hosts if isinstance(hosts, set | frozenset) else set(hosts)
    return (row for row in rows if row[1] in wanted)


_SQL_EPOCH = sqlite3.sqlite_version_info >= (3, 38, 0)  # unixepoch()
_MILLIS = "unixepoch(substr(timestamp, 1, 19)) * 1000 + substr(timestamp, 21, 3)"


def _decode_chunk(rows: list[Any], hosts: Collection[str] | None) -> list[Probe]:
    """Probes of rows (millis or NULL, the probe columns, rowid), of `hosts` only when given: the replay's
    hot loop, the decoding of `probe_from_row` inlined."""
    wanted = None if hosts is None else hosts if isinstance(hosts, set | frozenset) else set(hosts)
    kinds = ERROR_KINDS_BY_NAME
    probes: list[Probe] = []
    append = probes.append
    for millis, timestamp, host, available, status, response_time, error, location, detail, not_after, _ in rows:
        if wanted is not None and host not in wanted:
            continue
        moment = millis / 1000 if type(millis) is int and len(timestamp) == 24 else fast_parse_iso(timestamp)
        append(Probe(moment, host, bool(available), status, response_time, kinds[error] if error else None,
                     location, detail, fast_parse_iso(not_after) if not_after else None))
    return probes


def _decode_probes(rows: Iterable[ProbeRow]) -> list[Probe]:
    return [probe_from_row(row) for row in rows]


def _decode_transitions(rows: Iterable[AlertRow]) -> list[AlertTransition]:
    return [transition for transition in map(alert_from_row, rows) if transition is not None]


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    """The file's (device, inode, size, modification time); None while it does not exist yet. The first two
    say which file it is, all four whether it changed. A path that is not a file, or cannot be one (under a
    regular file, say), is a user's mistake: StoreError."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StoreError(f"{path}: cannot use as a monitoringApp database: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        raise StoreError(f"{path}: is not a file")  # a directory never becomes a database: no point waiting
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns

"""The stored event log read back: the recent past of probes and the last alert state per site."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from domain.events import AlertTransition, Probe
from domain.timefmt import iso_utc
from store.schema import (
    ALERT_COLUMNS,
    PROBE_COLUMNS,
    ProbeRow,
    alert_from_row,
    latest_rowid_per_host,
    probe_from_row,
)


def recent_probes(connection: sqlite3.Connection, since: float,
                  hosts: set[str] | None = None) -> tuple[Probe, ...]:
    """Stored probes with timestamp > `since`, oldest first (optionally of `hosts` only)."""
    rows = connection.execute(
        f"SELECT {PROBE_COLUMNS} FROM website_monitoring WHERE timestamp > ? ORDER BY timestamp, rowid",
        (iso_utc(since),),
    )
    return _probes_of(rows, hosts)


def last_transitions(connection: sqlite3.Connection) -> dict[str, AlertTransition]:
    """The latest stored alert or recovery of each site."""
    # The very rows a purge with --alerts keeps.
    rows = connection.execute(
        f"SELECT {ALERT_COLUMNS} FROM website_alerts WHERE rowid IN ({latest_rowid_per_host('website_alerts')})")
    return {transition.host: transition for transition in map(alert_from_row, rows)}


def alert_history(connection: sqlite3.Connection, since: float | None = None,
                  host: str | None = None) -> tuple[AlertTransition, ...]:
    """Stored alerts and recoveries, oldest first: from `since` on and of `host` only, when given.

    With `host`, the (host, timestamp) index gives the rows already in order.
    """
    conditions, parameters = [], []
    if host is not None:
        conditions.append("host = ?")
        parameters.append(host)
    if since is not None:
        conditions.append("timestamp >= ?")
        parameters.append(iso_utc(since))
    where = f"WHERE {' AND '.join(conditions)} " if conditions else ""
    rows = connection.execute(
        f"SELECT {ALERT_COLUMNS} FROM website_alerts {where}ORDER BY timestamp, rowid", parameters)
    return tuple(map(alert_from_row, rows))


def alerts_after(connection: sqlite3.Connection, rowid: int,
                 host: str | None = None) -> tuple[AlertTransition, ...]:
    """Alerts and recoveries stored after row `rowid`, in the order they were appended (of `host` only, if given)."""
    if host is None:
        rows = connection.execute(
            f"SELECT {ALERT_COLUMNS} FROM website_alerts WHERE rowid > ? ORDER BY rowid", (rowid,))
    else:
        rows = connection.execute(
            f"SELECT {ALERT_COLUMNS} FROM website_alerts WHERE rowid > ? AND host = ? ORDER BY rowid",
            (rowid, host))
    return tuple(map(alert_from_row, rows))


def probes_after(connection: sqlite3.Connection, rowid: int,
                 hosts: set[str] | None = None) -> tuple[Probe, ...]:
    """Probes stored after row `rowid`, in the order they were appended (of `hosts` only, if given)."""
    rows = connection.execute(
        f"SELECT {PROBE_COLUMNS} FROM website_monitoring WHERE rowid > ? ORDER BY rowid", (rowid,))
    return _probes_of(rows, hosts)


def _probes_of(rows: Iterable[ProbeRow], hosts: set[str] | None) -> tuple[Probe, ...]:
    # Other sites' rows are skipped before they are decoded (about 1 µs a row).
    return tuple(probe_from_row(row) for row in rows if hosts is None or row[1] in hosts)

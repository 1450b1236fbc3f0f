"""The event log: the one place that knows SQL, table names and database files (see `store.log`, the seam).

The modes open their log here and see only its interface: `open_event_log` for a monitor, which appends and
reads its own past; `open_log_reader` for a reader, which never writes; `open_probe_archive` for `--replay`;
`purge_log` for `--purge`; `open_delivery_state` for the notifier's own state file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from monitoringapp.store.log import HistoryReader, LogReader, ProbeArchive
from monitoringapp.store.sqlite.purge import PurgeStep, purge_log
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import check_existing_file

# The writer (and reactivex under it) and the notifier's state are imported when opened: a restart reads its
# past in a child process that imports this package and needs neither (see `store.sqlite.history`).
if TYPE_CHECKING:
    from monitoringapp.store.sqlite.delivery_state import SqliteDeliveryState
    from monitoringapp.store.sqlite.writer import SqliteEventLog


def open_event_log(path: str | Path, rebuild_progress: Callable[[int, int], None] | None = None) -> SqliteEventLog:
    """The log a monitor appends to at `path`, created when missing; StoreError if it cannot be used.
    `rebuild_progress(done, total)` follows the rollups' rebuild, when a file without them is opened."""
    from monitoringapp.store.sqlite.writer import SqliteEventLog

    return SqliteEventLog(path, rebuild_progress=rebuild_progress)


def open_history_reader(path: str | Path) -> HistoryReader:
    """A read-only reader of the SQLite log at `path` with its rollups (the web page's): a single monitor's
    database, or an evaluator's projection."""
    return SqliteLogReader(path)


def open_log_reader(path: str | Path, nats: Sequence[str] = ()) -> LogReader:
    """A read-only reader of the log at `path`, or with `nats` servers of the JetStream log; either may not exist
    yet (reads raise LogUnavailable until it does)."""
    if nats:
        from monitoringapp.store.jetstream import open_stream_reader

        return open_stream_reader(nats, "reader")
    return SqliteLogReader(path)


def open_probe_archive(path: str | Path) -> ProbeArchive:
    """A read-only reader of the existing SQLite log at `path` that reads its probes forward in time (a replay);
    StoreError if there is no such file."""
    check_existing_file(path)
    return SqliteLogReader(path)


def open_delivery_state(path: str | Path) -> SqliteDeliveryState:
    """The notifier's own state file at `path`, created when missing; StoreError if it cannot be used."""
    from monitoringapp.store.sqlite.delivery_state import SqliteDeliveryState

    return SqliteDeliveryState(path)


__all__ = ["PurgeStep", "open_delivery_state", "open_event_log", "open_log_reader", "open_probe_archive", "purge_log"]

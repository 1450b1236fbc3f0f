"""A stored log in the middle of an outage with a gap in it (no monitor ran): what a restart or a reader starts
from when "down for" and "last fail" reach back before the window it loads."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from monitoringapp.domain.events import Probe
from monitoringapp.store.sqlite.writer import SqliteEventLog


def write_gap_outage(db: Path, now: float, down: str, up: str | None = None, recent: Iterable[float] = ()) -> None:
    """`down` answered 3 h before `now` and failed every minute from 2h30m to 2 h before it, then nothing (no
    monitor ran); `up` failed 2 h before `now` and answered a minute later. Both are probed again `recent`
    seconds before `now` (`down` failing, `up` answering). Written as a monitor writes, rollups included."""
    log = SqliteEventLog(db, flush_interval=30.0)
    log.append_probe(Probe(now - 3 * 3600, down, True, 200, 1.0))
    for second in range(int(2.5 * 3600), 2 * 3600 - 1, -60):
        log.append_probe(Probe(now - second, down, False, 503, 1.0))
    if up is not None:
        log.append_probe(Probe(now - 2 * 3600, up, False, 503, 1.0))
        log.append_probe(Probe(now - 2 * 3600 + 60, up, True, 200, 1.0))
    for second in sorted(recent, reverse=True):
        log.append_probe(Probe(now - second, down, False, 503, 1.0))
        if up is not None:
            log.append_probe(Probe(now - second, up, True, 200, 1.0))
    log.close()

"""A monitor's log with history, written through the real writer: what the web tests read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from monitoringapp.domain.events import AlertTransition, ErrorKind, Probe, TransitionKind
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.web.app import WebContext
from monitoringapp.web.board import SiteSpec, StatusBoard
from monitoringapp.web.feed import BoardFeed

NOW = 1_796_040_000.0  # 2026-11-30T12:00:00Z
UP = "http://up.test/"
FLAKY = "http://flaky.test/health"
DOWN = "http://down.test/"
HOSTILE = "http://user:hunter2@x.test/?q=<script>alert(1)</script>"
SITES = (UP, FLAKY, DOWN, HOSTILE)


@dataclass(frozen=True)
class History:
    path: Path
    now: float
    probes: int


def history_probes(now: float = NOW, days: int = 3) -> Iterator[Probe]:
    """Every site every 10 minutes for `days` days, then every 10 s for the last hour; FLAKY fails one
    probe in ten, DOWN fails from 5 minutes before `now`."""
    start = now - days * 86400
    times = [start + n * 600 for n in range(int((days * 86400 - 3600) / 600))]
    times += [now - 3600 + n * 10 for n in range(360)]
    for n, t in enumerate(times):
        yield Probe(t, UP, True, 200, 20.0 + n % 7)
        yield Probe(t, HOSTILE, True, 200, 5.0)
        if n % 10 == 3:
            yield Probe(t, FLAKY, False, None, None, ErrorKind.TIMEOUT)
        else:
            yield Probe(t, FLAKY, True, 200, 100.0 + n % 50)
        if t >= now - 300:
            yield Probe(t, DOWN, False, 503, 3.0)
        else:
            yield Probe(t, DOWN, True, 200, 8.0)


def write_history(path: Path, now: float = NOW, days: int = 3) -> History:
    log = SqliteEventLog(path, flush_interval=60.0)
    count = 0
    for probe in history_probes(now, days):
        log.append_probe(probe)
        count += 1
    # FLAKY had a 20-minute outage yesterday; DOWN is alerting since 4 minutes ago.
    yesterday = now - 86400
    log.append_transition(AlertTransition(yesterday, FLAKY, TransitionKind.ALERT, 0.5, start=yesterday))
    log.append_transition(AlertTransition(yesterday + 1200, FLAKY, TransitionKind.RECOVERY, 0.85,
                                          start=yesterday, end=yesterday + 1200))
    log.append_transition(AlertTransition(now - 240, DOWN, TransitionKind.ALERT, 0.5, start=now - 240,
                                          detail="status 503, expected 200-299"))
    # UP's certificate expires in 6 days: warned of a minute ago, at 7 days.
    log.append_transition(AlertTransition(now - 60, UP, TransitionKind.CERTIFICATE, None, now + 6 * 86400,
                                          now - 86400, detail="expires in 6d00h"))
    log.close()
    return History(path, now, count)


def seeded_context(history: History, sites: tuple[str, ...] | None = SITES) -> WebContext:
    """The web's context on `history`, its board seeded by one poll, its clock stopped at `history.now`."""
    from monitoringapp.store import open_log_reader

    log = open_log_reader(history.path)
    board = StatusBoard([SiteSpec(url, 10.0) for url in sites] if sites is not None else None)
    feed = BoardFeed(log, board, history.now)
    news = feed.poll(history.now)
    assert news.seeded, news
    return WebContext(board, log, clock=lambda: history.now)

"""Each site's last success, last failure and failing run read back from a real SQLite log, many sites at once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitoringapp.domain.events import LastOutcomes, Probe
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store.sqlite import outcomes
from monitoringapp.store.sqlite import reader as reader_module
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.writer import SqliteEventLog

H = 1_789_999_200.0  # an hour's start
BEFORE = H + 3 * 3600 + 30.5  # the moment asked of: 30.5 s into a minute whose later probes are not counted
FLAKY = [f"http://flaky{n}.test/" for n in range(4)]
STEADY, DOWN, DOWN_TOO, PURGED, PURGED_TOO, UNLISTED = (
    "http://steady.test/", "http://down.test/", "http://down-too.test/", "http://purged.test/",
    "http://purged-too.test/", "http://unlisted.test/")


def stored(path: Path, probes: list[Probe]) -> Path:
    log = SqliteEventLog(path, flush_interval=30.0)
    for probe in sorted(probes, key=lambda probe: probe.timestamp):
        log.append_probe(probe)
    log.close()
    return path


def every_10_s(host: str, first: float, last: float, up: bool) -> list[Probe]:
    count = int((last - first) // 10) + 1
    return [Probe(first + 10 * n, host, up, 200 if up else 503, 1.0) for n in range(count)]


def a_log_of_every_shape(path: Path) -> Path:
    """Sites up every 10 s (at :05, :15, ...) for the hour before the moment and a minute after it, each failing
    now and then, two of them in the moment's own minute (one after the moment too), two in one older minute;
    a site never failing; two down for hours; two whose first hour was purged (the rollups alone say when); and
    a site the config no longer lists."""
    up_from, up_to = H + 2 * 3600 + 5.0, BEFORE + 60.0
    probes = [probe for host in [*FLAKY, STEADY, UNLISTED] for probe in every_10_s(host, up_from, up_to, True)]
    failures = [(FLAKY[0], H + 3 * 3600 + 1.0), (FLAKY[0], H + 3 * 3600 + 12.25), (FLAKY[1], H + 3 * 3600 + 12.5),
                (FLAKY[1], H + 3 * 3600 + 31.0), (FLAKY[2], H + 2 * 3600 + 301.0), (FLAKY[2], H + 2 * 3600 + 359.5),
                (FLAKY[3], H + 2 * 3600 + 300.0), (FLAKY[3], H + 2 * 3600 + 330.0), (UNLISTED, H + 2 * 3600 + 400.0)]
    probes += [Probe(at, host, False, 503, 1.0) for host, at in failures]
    probes += [Probe(H + 10.0, DOWN, True, 200, 1.0), Probe(H + 20.0, DOWN_TOO, True, 200, 1.0),
               *every_10_s(DOWN, H + 3600 + 5.0, up_to, False), *every_10_s(DOWN_TOO, H + 3600 + 5.0, up_to, False)]
    probes += [Probe(H + 15.0, PURGED, True, 200, 1.0), Probe(H + 75.0, PURGED, False, 503, 1.0),
               Probe(H + 16.0, PURGED_TOO, True, 200, 1.0), Probe(H + 76.0, PURGED_TOO, False, 503, 1.0),
               Probe(H + 3 * 3600 + 5.0, PURGED, False, 503, 1.0),
               Probe(H + 3 * 3600 + 6.0, PURGED_TOO, False, 503, 1.0)]
    stored(path, probes)
    with sqlite3.connect(path) as db:  # retention purged their first hour's probes; the rollups stay
        db.execute("DELETE FROM website_monitoring WHERE host IN (?, ?) AND timestamp < ?",
                   (PURGED, PURGED_TOO, iso_utc(H + 3600)))
    return path


EXPECTED = {
    FLAKY[0]: LastOutcomes(FLAKY[0], H + 3 * 3600 + 25.0, H + 3 * 3600 + 12.25, None),
    FLAKY[1]: LastOutcomes(FLAKY[1], H + 3 * 3600 + 25.0, H + 3 * 3600 + 12.5, None),  # its failure at 31.0: after
    FLAKY[2]: LastOutcomes(FLAKY[2], H + 3 * 3600 + 25.0, H + 2 * 3600 + 359.5, None),
    FLAKY[3]: LastOutcomes(FLAKY[3], H + 3 * 3600 + 25.0, H + 2 * 3600 + 330.0, None),
    STEADY: LastOutcomes(STEADY, H + 3 * 3600 + 25.0, None, None),
    DOWN: LastOutcomes(DOWN, H + 10.0, H + 3 * 3600 + 25.0, H + 3600 + 5.0),
    DOWN_TOO: LastOutcomes(DOWN_TOO, H + 20.0, H + 3 * 3600 + 25.0, H + 3600 + 5.0),
    # To the minute: the success's minute's end, the failing run from the failure's minute's start.
    PURGED: LastOutcomes(PURGED, H + 60.0, H + 3 * 3600 + 5.0, H + 60.0),
    PURGED_TOO: LastOutcomes(PURGED_TOO, H + 60.0, H + 3 * 3600 + 6.0, H + 60.0),
    UNLISTED: LastOutcomes(UNLISTED, H + 3 * 3600 + 25.0, H + 2 * 3600 + 400.0, None),
}


@pytest.mark.parametrize("rounds", [0, 1, 4])
def test_every_sites_last_outcomes_are_exact_whatever_its_shape_when_sites_share_their_minutes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rounds: int) -> None:
    """Whether the last probes folded settle a site (4 a site), some of it (1) or none of it (0: all through the
    rollups and the probes' walks, most of them shared by several sites)."""
    monkeypatch.setattr(outcomes, "RECENT_ROUNDS", rounds)
    reader = SqliteLogReader(a_log_of_every_shape(tmp_path / "m.db"))
    try:
        assert reader.last_outcomes(BEFORE) == EXPECTED  # every site with a rollup, the unlisted one too
        listed = {*EXPECTED, "http://never-probed.test/"} - {UNLISTED}
        assert reader.last_outcomes(BEFORE, listed) == {host: EXPECTED[host] for host in listed if host in EXPECTED}
    finally:
        reader.close()


def test_sites_whose_last_failure_is_in_one_minute_walk_that_minutes_probes_once_not_once_a_site(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """30 sites up every 10 s, each down once in the same minute an hour before the moment: each site's last
    failure is looked up in that minute, a walk of every site's probes in it; the 30 share one walk."""
    sites = [f"http://s{n}.test/" for n in range(30)]
    minute = H + 2 * 3600 + 600.0
    probes = [probe for host in sites for probe in every_10_s(host, H + 2 * 3600 + 5.0, BEFORE + 60.0, True)]
    probes += [Probe(minute + 1.0 + n, host, False, 503, 1.0) for n, host in enumerate(sites)]
    path = stored(tmp_path / "m.db", probes)
    statements: list[str] = []

    def traced(*args: object, **kwargs: object) -> sqlite3.Connection:
        connection = connect(*args, **kwargs)
        connection.set_trace_callback(statements.append)
        return connection

    connect = reader_module.connect
    monkeypatch.setattr(reader_module, "connect", traced)
    reader = SqliteLogReader(path)
    try:
        found = reader.last_outcomes(BEFORE, sites)
    finally:
        reader.close()
    assert found == {host: LastOutcomes(host, H + 3 * 3600 + 25.0, minute + 1.0 + n, None)
                     for n, host in enumerate(sites)}
    walks = [sql for sql in statements if "FROM website_monitoring WHERE timestamp >" in sql]
    assert len(walks) == 1, walks

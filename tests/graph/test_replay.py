"""The replay holds to what the monitor stored: the very transitions, over the whole log and from any instant,
warmed up with one alert window before it; another policy gives other transitions; and nothing is written."""

from __future__ import annotations

import hashlib
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from reactivex.scheduler import HistoricalScheduler

from monitoringapp.domain.checks import ProbeOutcome
from monitoringapp.domain.config import Config, SiteConfig, parse_config
from monitoringapp.domain.events import AlertTransition, ErrorKind, TransitionKind
from monitoringapp.domain.timefmt import epoch_seconds, utc_datetime
from monitoringapp.graph.monitor import load_past
from monitoringapp.graph.replay import ReplayedChunk, ReplayStart, replayed
from monitoringapp.store import open_event_log, open_probe_archive
from monitoringapp.store.log import BEGINNING
from tests.graph.running import RunningMonitor

START = datetime(2026, 3, 1, tzinfo=UTC)
DAY = 86400.0
RESTART_AT = 1.7 * DAY
END = 3.4 * DAY
EXPIRES = epoch_seconds(START) + 3.5 * DAY


def config(flapping_window: float = 600) -> Config:
    return parse_config(json.dumps({
        "websites": [
            {"URL": "http://flapping.test/", "checkInterval": 60, "alertWindow": flapping_window,
             "bodyContains": "ok"},
            {"URL": "http://steady.test/", "name": "steady", "checkInterval": 90},
            {"URL": "https://secure.test/", "checkInterval": 120, "certificateExpiryDays": [3, 1.5, 0.5]},
        ],
        "alertWindow": 1800, "alertThreshold": 0.7, "recoveryThreshold": 0.9,
        "reports": [{"every": 3600, "windows": [3600]}]}), "c.json")


def outcome_at(site: SiteConfig, moment: float) -> ProbeOutcome:
    """A deterministic mix of good and bad hours, flapping inside them, per site and minute."""
    rng = random.Random(f"{site.key}|{int(moment // 60)}")
    bad_hour = random.Random(f"{site.key}|{int(moment // 3600)}").random() < 0.25
    if rng.random() < (0.6 if bad_hour else 0.03):
        return ProbeOutcome(200, 5.0, ErrorKind.CONDITION, 'bodyContains "ok" not found', up=False)
    expiry = EXPIRES if site.scheme == "https" else None
    return ProbeOutcome(200, 2.0, None, certificate_expiry=expiry, up=True)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three days of a monitor writing its log, restarted once half way, in virtual time."""
    db = tmp_path_factory.mktemp("replay") / "m.db"
    clock = HistoricalScheduler(START)

    def probe(site: SiteConfig) -> ProbeOutcome:
        return outcome_at(site, epoch_seconds(clock.now))

    for until in (RESTART_AT, END):
        log = open_event_log(db)
        monitor = RunningMonitor(config(), log, probe, clock, past=load_past(log, config(), epoch_seconds(clock.now)))
        monitor.start()
        clock.advance_to(utc_datetime(epoch_seconds(START) + until))
        monitor.stop()
    return db


def replay(db: Path, candidate: Config, since: float | None) -> tuple[list[AlertTransition], ReplayStart]:
    archive = open_probe_archive(db)
    found: list[AlertTransition] = []
    starts: list[ReplayStart] = []

    def keep(item: ReplayStart | ReplayedChunk) -> None:
        if isinstance(item, ReplayStart):
            starts.append(item)
        else:
            found.extend(item.transitions)

    try:
        replayed(archive, candidate, since, chunk=500).subscribe(keep)  # small chunks: many reads
    finally:
        archive.close()
    return found, starts[0]


def stored_transitions(db: Path) -> list[AlertTransition]:
    archive = open_probe_archive(db)
    try:
        return list(archive.transitions_after(BEGINNING).events)
    finally:
        archive.close()


def test_the_log_holds_alerts_recoveries_and_certificate_warnings_across_a_restart(stored: Path) -> None:
    kinds = {transition.kind for transition in stored_transitions(stored)}
    assert kinds == {TransitionKind.ALERT, TransitionKind.RECOVERY, TransitionKind.CERTIFICATE}
    warnings = [t for t in stored_transitions(stored) if t.kind is TransitionKind.CERTIFICATE]
    assert [round((EXPIRES - w.end) / DAY, 1) for w in warnings if w.end is not None] == [3.0, 1.5, 0.5]


def test_with_the_config_that_produced_it_the_replay_reproduces_every_stored_transition(stored: Path) -> None:
    found, start = replay(stored, config(), None)
    assert found == stored_transitions(stored)
    assert (start.warm_probes, start.open_alerts) == (0, 0)


@pytest.mark.parametrize("since_day", [0.3, 0.9137, RESTART_AT / DAY, 2.05, 2.5001, 3.2])
def test_from_any_instant_warmed_up_with_one_alert_window_before_it_the_replay_is_exact(stored: Path,
                                                                                          since_day: float) -> None:
    since = round(epoch_seconds(START) + since_day * DAY, 3)
    found, start = replay(stored, config(), since)
    assert found == [t for t in stored_transitions(stored) if t.timestamp >= since]
    assert start.warm_probes > 0


def test_a_longer_window_for_the_flapping_site_alerts_less_and_writes_nothing(stored: Path) -> None:
    before = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in stored.parent.iterdir()}
    found, _ = replay(stored, config(flapping_window=3600), None)
    after = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in stored.parent.iterdir()}
    assert after == before, "a replay writes nothing, in the file or beside it"

    def alerts(transitions: list[AlertTransition]) -> int:
        return sum(t.kind is TransitionKind.ALERT and t.host == "http://flapping.test/" for t in transitions)

    assert 0 < alerts(found) < alerts(stored_transitions(stored))


def test_from_the_middle_of_an_outage_the_open_alert_is_resumed_and_only_its_recovery_said(stored: Path) -> None:
    transitions = stored_transitions(stored)
    recovery = max((t for t in transitions if t.kind is TransitionKind.RECOVERY and t.end is not None),
                   key=lambda t: t.timestamp - t.start)  # the longest outage
    since = round((recovery.start + recovery.timestamp) / 2, 3)
    found, start = replay(stored, config(), since)
    assert start.open_alerts >= 1
    assert found == [t for t in transitions if t.timestamp >= since]
    assert found[[t.host for t in found].index(recovery.host)] == recovery

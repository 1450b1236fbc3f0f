"""The stored log read back on restart: recent probes after a time, the last transition of each site."""

from __future__ import annotations

from pathlib import Path

from domain.events import AlertTransition, Probe, TransitionKind
from sinks.sqlite_sink import SqliteEventStore
from store.schema import connect
from streams.stored_log import last_transitions, recent_probes

A, B = "http://a.test/", "http://b.test/"


def stored(tmp_path: Path, *events: Probe | AlertTransition) -> Path:
    path = tmp_path / "m.db"
    store = SqliteEventStore(path, flush_interval=30.0)
    for event in events:
        if isinstance(event, Probe):
            store.append_probe(event)
        else:
            store.append_transition(event)
    store.close()
    return path


def test_recent_probes_are_those_after_since_oldest_first_optionally_of_some_hosts(tmp_path: Path) -> None:
    probes = [Probe(t, host, t % 2 == 0, 200 if t % 2 == 0 else 500, 1.0)
              for t, host in ((10.0, A), (12.0, B), (11.0, A), (13.0, A), (14.0, B))]
    connection = connect(stored(tmp_path, *probes))
    try:
        assert [(p.timestamp, p.host) for p in recent_probes(connection, 11.0)] == [(12.0, B), (13.0, A), (14.0, B)]
        assert recent_probes(connection, 10.5, {A}) == (probes[2], probes[3])
    finally:
        connection.close()


def test_last_transitions_gives_each_sites_latest_alert_or_recovery(tmp_path: Path) -> None:
    a_alert = AlertTransition(10.0, A, TransitionKind.ALERT, 0.5, start=10.0)
    a_recovery = AlertTransition(20.0, A, TransitionKind.RECOVERY, 0.9, start=10.0, end=20.0)
    b_alert = AlertTransition(15.0, B, TransitionKind.ALERT, 0.0, start=15.0)
    connection = connect(stored(tmp_path, a_alert, b_alert, a_recovery))
    try:
        assert last_transitions(connection) == {A: a_recovery, B: b_alert}
    finally:
        connection.close()

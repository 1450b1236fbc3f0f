"""The notifier's graph in virtual time over a real SQLite log: what each channel is sent, at which virtual time,
with a receiver down and back, and the monitor watched."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from reactivex.scheduler import HistoricalScheduler

from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.domain.notices import NoticeKind
from monitoringapp.domain.notifications import ChannelConfig
from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.graph.notifier import NotifierNews, Progress, notifications
from monitoringapp.operators.delivery import (
    Backoff,
    ChannelDelivery,
    Deliveries,
    Failing,
    Message,
    MonitorNews,
    MonitorWatch,
    Passed,
    Restored,
)
from monitoringapp.store.log import Cursor, is_after
from monitoringapp.store.sqlite.delivery_state import SqliteDeliveryState
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing

START = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
T0 = epoch_seconds(START)
A, B = "http://a.test/", "http://b.test/"


def store(db: Path, *events: AlertTransition | Probe) -> None:
    connection = open_for_writing(db)
    insert_events(connection, [e for e in events if isinstance(e, Probe)],
                  [e for e in events if isinstance(e, AlertTransition)])
    connection.close()


class Receivers:
    """Records what each channel was sent at which virtual second; `down[channel]` fails it until that second."""

    def __init__(self, clock: HistoricalScheduler, down: dict[str, float]) -> None:
        self.clock = clock
        self.down = down
        self.sent: list[tuple[float, str, str, int]] = []  # (second after START, channel, notice id, attempt)

    def deliver(self, message: Message[Cursor]) -> str | None:
        second = round(epoch_seconds(self.clock.now) - T0, 3)
        if second < self.down.get(message.channel, 0.0):
            return "cannot connect: Connection refused"
        self.sent.extend((second, message.channel, n.id, message.attempt) for n in message.notices)
        return None


def run(db: Path, read_from: Cursor, down: dict[str, float], steps: list[tuple[float, list[AlertTransition | Probe]]],
        watches: dict[str, MonitorWatch] | None = None) -> tuple[Receivers, list[NotifierNews]]:
    clock = HistoricalScheduler(initial_clock=START)
    receivers = Receivers(clock, down)

    def deliveries() -> Deliveries[Cursor]:
        channels = [ChannelDelivery(ChannelConfig(name, "http://127.0.0.1:9/"), Backoff(random.Random(7)))
                    for name in ("live", "flaky")]
        return Deliveries(channels, watches, after=is_after)

    news: list[NotifierNews] = []
    subscription = notifications(SqliteLogReader(db), deliveries, receivers.deliver, read_from, clock,
                                 {"live": clock, "flaky": clock}).subscribe(news.append)
    for second, stored in steps:
        if stored:
            store(db, *stored)
        clock.advance_to(START + timedelta(seconds=second))
    subscription.dispose()
    return receivers, news


def test_a_receiver_down_then_back_gets_every_transition_once_in_order_at_its_backoff_times_the_other_on_time(
        tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    old = AlertTransition(T0 - 50, B, TransitionKind.ALERT, 0.5, T0 - 50)
    store(db, old)
    end = SqliteLogReader(db).transitions_end()
    a1 = AlertTransition(T0 + 0.9, A, TransitionKind.ALERT, 0.5, T0 + 0.9)
    a2 = AlertTransition(T0 + 2.6, A, TransitionKind.RECOVERY, 0.9, T0 + 0.9, T0 + 2.6)
    receivers, news = run(db, end, {"flaky": 3.0}, [(0.9, []), (2.6, [a1]), (20.0, [a2])])
    # Polls every 0.25 s: a1 (stored at 0.9 s) is read at 1.0, a2 (stored at 2.6 s) at 2.75. The flaky channel
    # fails at 1.0 and retries after 0.935 s (at the 2.0 poll) and 1.940 s more (the 4.0 poll), when it is back.
    assert receivers.sent == [(1.0, "live", a1.id, 1), (2.75, "live", a2.id, 1),
                              (4.0, "flaky", a1.id, 3), (4.0, "flaky", a2.id, 1)]
    said = [item for item in news if isinstance(item, Failing | Restored)]
    assert [type(item) for item in said] == [Failing, Restored]
    assert said[0] == Failing("flaky", "cannot connect: Connection refused", 1,
                              pytest.approx(T0 + 1.0 + 0.935233, abs=1e-6))


def test_the_monitor_watch_tells_every_channel_when_probes_stop_and_when_they_resume(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    store(db, Probe(T0 - 70, A, True, 200, 1.0))
    end = SqliteLogReader(db).transitions_end()
    receivers, news = run(db, end, {}, [(6.0, []), (12.0, [])],
                          {name: MonitorWatch(60.0) for name in ("live", "flaky")})
    stale = [(s, ch) for s, ch, _, _ in receivers.sent]
    assert stale == [(0.0, "live"), (0.0, "flaky")]
    (told,) = [item.notice for item in news if isinstance(item, MonitorNews)]
    assert (told.kind, told.start, told.time) == (NoticeKind.MONITOR_STALE, T0 - 70, T0 - 10)
    store(db, Probe(T0 + 12.5, A, True, 200, 1.0))
    # Probes are checked every 5 s: the resumption is seen at the next check after it is stored.
    receivers, news = run(db, end, {}, [(16.0, [])],
                          {name: MonitorWatch(60.0, announced=T0 - 70) for name in ("live", "flaky")})
    assert [(s, ch) for s, ch, _, _ in receivers.sent] == [(0.0, "live"), (0.0, "flaky")]
    (resumed,) = [item.notice for item in news if isinstance(item, MonitorNews)]
    assert (resumed.kind, resumed.start, resumed.end) == (NoticeKind.MONITOR_RESUMED, T0 - 70, T0 + 12.5)


def test_a_monitor_stopped_before_the_clock_stepped_back_is_told_stale_a_minute_later_not_an_hour(
        tmp_path: Path) -> None:
    # The monitor stored its last probe an hour ahead of this clock (stamped before the clock stepped back an
    # hour) and nothing since: stale 60 s after the notifier saw it, at its 65 s check; not when its clock has
    # caught up with the probe, an hour later. The monitor starts again and stamps by the stepped clock.
    db = tmp_path / "m.db"
    store(db, Probe(T0 + 3600, A, True, 200, 1.0))
    end = SqliteLogReader(db).transitions_end()
    receivers, news = run(db, end, {}, [(64.0, []), (66.0, []), (70.0, [Probe(T0 + 69.5, A, True, 200, 1.0)]),
                                         (71.0, [])], {"live": MonitorWatch(60.0)})
    told = [item.notice for item in news if isinstance(item, MonitorNews)]
    assert [(n.kind, n.start, n.time) for n in told] == [(NoticeKind.MONITOR_STALE, T0 + 3600, T0 + 60),
                                                         (NoticeKind.MONITOR_RESUMED, T0 + 3600, T0 + 69.5)]
    assert [(second, channel) for second, channel, _, _ in receivers.sent] == [(65.0, "live"), (70.0, "live")]


def test_monitoring_resumed_is_stamped_with_the_first_probe_stored_after_the_gap(tmp_path: Path) -> None:
    # The notifier stopped while the monitor resumed: at its restart the newest probe is T0 - 5, but monitoring
    # resumed at T0 - 40, the first probe after the gap (stamped T0 - 5 before: when the notifier noticed).
    db = tmp_path / "m.db"
    store(db, Probe(T0 - 400, A, True, 200, 1.0))
    end = SqliteLogReader(db).transitions_end()
    store(db, Probe(T0 - 5, A, True, 200, 1.0), Probe(T0 - 40, B, True, 200, 1.0), Probe(T0 - 30, A, True, 200, 1.0))
    receivers, news = run(db, end, {}, [(1.0, [])], {"live": MonitorWatch(60.0, announced=T0 - 400)})
    (resumed,) = [item.notice for item in news if isinstance(item, MonitorNews)]
    assert (resumed.kind, resumed.start, resumed.time, resumed.end) == (NoticeKind.MONITOR_RESUMED, T0 - 400,
                                                                        T0 - 40, T0 - 40)
    assert [(second, channel) for second, channel, _, _ in receivers.sent] == [(0.0, "live")]


def test_a_channels_place_moves_over_what_it_passes_over_in_one_write_and_never_past_what_it_has_not_delivered(
        tmp_path: Path) -> None:
    # A channel for site A only kept the place of its last delivery: each restart read the log again from there.
    db = tmp_path / "m.db"
    store(db, AlertTransition(T0 - 100, B, TransitionKind.ALERT, 0.5, T0 - 100))
    start = SqliteLogReader(db).transitions_end()
    state = SqliteDeliveryState(tmp_path / "m-notify.db")
    state.started("a-only", start)
    others = [AlertTransition(T0 + k / 1000, B, TransitionKind.SILENT if k % 2 else TransitionKind.ALERT, None,
                              T0 + k / 1000) for k in range(1, 3001)]
    mine = AlertTransition(T0 + 5, A, TransitionKind.ALERT, 0.5, T0 + 5)
    recorded: list[Passed[Cursor]] = []

    def run_notifier(steps: list[tuple[float, list[AlertTransition]]], down_until: float) -> Receivers:
        clock = HistoricalScheduler(initial_clock=START)
        receivers = Receivers(clock, {"a-only": down_until})
        starts = {name: progress.cursor for name, progress in state.progress().items()}

        def deliveries() -> Deliveries[Cursor]:
            config = ChannelConfig("a-only", "http://127.0.0.1:9/", frozenset({A}))
            return Deliveries([ChannelDelivery(config, Backoff(random.Random(7)))], starts=starts, after=is_after)

        def deliver(message: Message[Cursor]) -> str | None:
            error = receivers.deliver(message)
            if error is None:
                state.delivered(message.channel, message.cursor, message.notices[-1].id, epoch_seconds(clock.now))
            return error

        def record(progress: Progress) -> None:
            assert isinstance(progress, Passed)  # it holds nothing by maintenance
            recorded.append(progress)
            state.passed(progress.channel, progress.cursor)

        subscription = notifications(SqliteLogReader(db), deliveries, deliver, starts["a-only"], clock,
                                     {"a-only": clock}, record_progress=record).subscribe()
        for second, transitions in steps:
            if transitions:
                store(db, *transitions)
            clock.advance_to(START + timedelta(seconds=second))
        subscription.dispose()
        return receivers

    # B's 3,000 transitions (alerts and silences, a kind no channel is told of) are read at 3.0: one write. A's
    # alert, read at 4.0, fails until the notifier is killed at 60 s; B's 3,000 more after it (read at 4.25) move
    # nothing, as A's alert is not delivered.
    later = [replace(t, timestamp=t.timestamp + 10, start=t.start + 10) for t in others]
    receivers = run_notifier([(2.9, others), (3.9, [mine]), (4.1, later), (60.0, [])], down_until=3600.0)
    assert receivers.sent == []
    (first,) = recorded
    assert (first.cursor.position, state.progress()["a-only"].cursor.position) == (start.position + 3000,) * 2
    # Restarted with its receiver back: A's alert is read and delivered again, then the place passes the rest.
    receivers = run_notifier([(6.0, [])], down_until=0.0)
    assert [(second, notice_id) for second, _, notice_id, _ in receivers.sent] == [(0.0, mine.id)]
    end = SqliteLogReader(db).transitions_end()
    assert len(recorded) == 2 and recorded[-1].cursor.position == end.position
    assert state.progress()["a-only"].cursor.position == end.position
    state.close()


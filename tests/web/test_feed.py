"""The board followed from a real log: seeded once, then each stored probe and transition counted once."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.domain.sites import site_id
from monitoringapp.operators.rollup import DAY, Rollup
from monitoringapp.store.log import Page
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.web.board import SiteListChange, SiteSpec, State, StatusBoard
from monitoringapp.web.feed import RECHECK_EVERY, BoardFeed
from tests.gap_outage import write_gap_outage
from tests.web.history import DOWN, NOW, UP, write_history

Seeded = tuple[SqliteLogReader, StatusBoard, BoardFeed]


def seeded_feed(path: Path, days: int, sites: tuple[str, ...] = (UP, DOWN)) -> Seeded:
    """A history of `days` written at `path`, and a board of `sites` seeded from it by a first poll at NOW."""
    write_history(path, days=days)
    log = SqliteLogReader(path)
    board = StatusBoard([SiteSpec(site, 10.0) for site in sites])
    feed = BoardFeed(log, board, NOW)
    assert feed.poll(NOW).seeded
    return log, board, feed


def test_a_reader_started_before_the_database_waits_then_seeds(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    log = SqliteLogReader(path)
    board = StatusBoard()
    feed = BoardFeed(log, board, NOW)
    news = feed.poll(NOW)
    assert news.waiting is not None and "waiting for" in news.waiting and not board.seeded
    write_history(path, days=1)
    assert feed.poll(NOW).seeded
    assert {s.url for s in board.statuses(NOW)} >= {UP, DOWN}
    log.close()


def test_probes_stored_after_the_seed_are_counted_once_and_change_the_state(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    log, board, feed = seeded_feed(path, days=2)
    assert board.status(site_id(UP), NOW).state is State.UP  # type: ignore[union-attr]

    writer = SqliteEventLog(path, flush_interval=0.01)
    for n in range(1, 13):
        writer.append_probe(Probe(NOW + n * 10, UP, False, 503, 2.0))
        writer.append_probe(Probe(NOW + n * 10, DOWN, True, 200, 2.0))
    writer.append_transition(AlertTransition(NOW + 120, DOWN, TransitionKind.RECOVERY, 0.8, start=NOW - 240,
                                             end=NOW + 120))
    writer.close()
    later = NOW + 121
    news = feed.poll(later)
    assert news.touched == {site_id(UP), site_id(DOWN)}
    up, down = board.status(site_id(UP), later), board.status(site_id(DOWN), later)
    assert up is not None and down is not None
    assert (up.state, up.since) == (State.DOWN, NOW + 10)
    assert down.state is State.UP
    assert board.days(site_id(DOWN), later)[-1].outages == ((NOW - 240, NOW + 120),)
    # Today's bar equals what the rollups now say: nothing counted twice, nothing missed.
    fresh = log.rollups(NOW - NOW % DAY, NOW + DAY, DAY, {UP}).events
    today = board.days(site_id(UP), later, count=1)[0]
    assert (today.checks, today.available) == (fresh[0].checks, fresh[0].available)
    assert feed.poll(later).touched == frozenset(), "nothing new, nothing touched"
    log.close()


def test_a_database_deleted_under_a_seeded_board_is_said_at_every_poll_until_a_new_one_is_there(
        tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    log, _, feed = seeded_feed(path, days=1, sites=(UP,))
    assert feed.poll(NOW).waiting is None
    for made in tmp_path.glob("m.db*"):
        made.unlink()
    gone = f"waiting for {path} to be created by a monitor (-m)"
    assert [feed.poll(NOW + n).waiting for n in (1, 2)] == [gone, gone], "said while it lasts, not only once"
    writer = SqliteEventLog(path, flush_interval=0.01)
    writer.append_probe(Probe(NOW + 3, UP, True, 200, 2.0))
    writer.close()
    news = feed.poll(NOW + 3)
    assert (news.waiting, news.touched) == (None, {site_id(UP)})
    log.close()


def test_every_site_is_touched_now_and_then_as_one_turns_no_data_without_a_probe(tmp_path: Path) -> None:
    log, board, feed = seeded_feed(tmp_path / "m.db", days=1)
    assert feed.poll(NOW + 4.5).touched == frozenset(), "no probe, and too soon to look again"
    stale = NOW + RECHECK_EVERY + 60
    assert feed.poll(stale).touched == {site_id(UP), site_id(DOWN)}
    assert board.status(site_id(UP), stale).state is State.NO_DATA  # type: ignore[union-attr]
    assert feed.poll(stale + 1).touched == frozenset()
    log.close()


def test_a_site_down_since_before_the_seeded_hour_is_down_since_its_run_began(tmp_path: Path) -> None:
    """Up 3 h ago, down from 2h30m ago, no probe for an hour (no monitor ran), down again in the last minute: the
    page says down since 2h30m ago, as a reader that never stopped would, not since the seeded hour's first."""
    path = tmp_path / "m.db"
    write_gap_outage(path, NOW, DOWN, recent=(50, 40))
    reader = SqliteLogReader(path)
    board = StatusBoard([SiteSpec(DOWN, 10.0)])
    assert BoardFeed(reader, board, NOW).poll(NOW).seeded
    status = board.status(site_id(DOWN), NOW)
    assert status is not None and (status.state, status.since) == (State.DOWN, NOW - 2.5 * 3600)
    reader.close()


def test_an_alert_still_open_from_before_the_ninety_days_keeps_the_site_alerting(tmp_path: Path) -> None:
    """An alert raised 100 days ago and never recovered: the page says Alerting since then, as `-m` and `-a`
    do, not Down since the seeded hour's first failure."""
    path = tmp_path / "m.db"
    raised = NOW - 100 * DAY
    writer = SqliteEventLog(path, flush_interval=0.01)
    writer.append_transition(AlertTransition(raised, DOWN, TransitionKind.ALERT, 0.5, start=raised))
    writer.append_probe(Probe(NOW - 20, DOWN, False, 503, 2.0))
    writer.close()
    reader = SqliteLogReader(path)
    board = StatusBoard([SiteSpec(DOWN, 10.0)])
    assert BoardFeed(reader, board, NOW).poll(NOW).seeded
    status = board.status(site_id(DOWN), NOW)
    assert status is not None and (status.state, status.since) == (State.ALERTING, raised)
    reader.close()


def same_as_the_log(log: SqliteLogReader, board: StatusBoard, host: str, now: float) -> bool:
    """Whether the board's last 90 days of `host` are what the log's daily rollups say: each probe counted once."""
    stored = {r.start: (r.checks, r.available) for r in log.rollups(now - 90 * DAY, now + DAY, DAY, {host}).events}
    shown = {d.start: (d.checks, d.available) for d in board.days(site_id(host), now) if d.checks}
    return bool(stored) and shown == stored


def test_a_site_a_reloaded_list_adds_is_seeded_with_its_stored_past_and_a_removed_one_leaves(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    log, board, feed = seeded_feed(path, days=3, sites=(UP,))
    feed.show([SiteSpec(UP, 10.0), SiteSpec(DOWN, 10.0)])
    news = feed.poll(NOW + 1)
    assert news.reshaped == SiteListChange(added=(DOWN,), removed=(), relisted=True)
    assert news.touched == {site_id(UP), site_id(DOWN)}
    down = board.status(site_id(DOWN), NOW + 1)
    assert down is not None and (down.state, down.since) == (State.ALERTING, NOW - 240), "its open alert, as stored"
    assert down.latest == Probe(NOW - 10, DOWN, False, 503, 3.0)
    assert same_as_the_log(log, board, DOWN, NOW + 1)
    last_quarter = (60 * 8.0 + 30 * 3.0) / 90  # its probes of 11:45 to 12:00, 60 of 8 ms and 30 of 3 ms
    assert board.spark(site_id(DOWN), NOW + 1)[-1] == last_quarter

    writer = SqliteEventLog(path, flush_interval=0.01)
    writer.append_probe(Probe(NOW + 5, DOWN, True, 200, 2.0))
    writer.close()
    assert feed.poll(NOW + 5.5).touched == {site_id(DOWN)}
    assert same_as_the_log(log, board, DOWN, NOW + 5.5), "a probe stored after the reload is counted once"

    feed.show([SiteSpec(DOWN, 10.0)])
    assert feed.poll(NOW + 7).reshaped == SiteListChange(removed=(site_id(UP),), relisted=True)
    assert [s.url for s in board.statuses(NOW + 7)] == [DOWN]
    assert feed.poll(NOW + 8).reshaped is None, "applied once"
    log.close()


class CommitsDuringTheReload(SqliteLogReader):
    """A reader of a log a monitor commits a batch to just before the added sites' past is first read: after the
    feed's last read, so that batch is both in their rollups and after the feed's cursor."""

    def __init__(self, path: Path, batch: list[Probe]) -> None:
        super().__init__(path)
        self.path, self.batch = path, batch

    def rollups(self, since: float, until: float, step: float, hosts: Collection[str] | None = None, *,
                detail: bool = False) -> Page[Rollup]:
        if hosts is not None and self.batch:
            writer = SqliteEventLog(self.path, flush_interval=0.01)
            for probe in self.batch:
                writer.append_probe(probe)
            writer.close()
            self.batch = []
        return super().rollups(since, until, step, hosts, detail=detail)


def test_a_batch_committed_while_an_added_site_is_read_is_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    write_history(path, days=1)
    log = CommitsDuringTheReload(path, [Probe(NOW + 2, DOWN, True, 200, 2.0), Probe(NOW + 2, UP, True, 200, 2.0)])
    board = StatusBoard([SiteSpec(UP, 10.0)])
    feed = BoardFeed(log, board, NOW)
    assert feed.poll(NOW).seeded
    feed.show([SiteSpec(UP, 10.0), SiteSpec(DOWN, 10.0)])
    news = feed.poll(NOW + 3)
    assert news.reshaped is not None and news.reshaped.added == (DOWN,)
    assert feed.poll(NOW + 4).touched == frozenset(), "the batch was read during the reload"
    assert same_as_the_log(log, board, DOWN, NOW + 4) and same_as_the_log(log, board, UP, NOW + 4)
    assert board.status(site_id(DOWN), NOW + 4).latest == Probe(NOW + 2, DOWN, True, 200, 2.0)  # type: ignore[union-attr]
    log.close()


def test_a_list_given_while_the_log_cannot_be_read_is_applied_once_it_can(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    log, board, feed = seeded_feed(path, days=1, sites=(UP,))
    for made in tmp_path.glob("m.db*"):
        made.unlink()
    feed.show([SiteSpec(UP, 10.0), SiteSpec(DOWN, 10.0)])
    news = feed.poll(NOW + 1)
    assert news.reshaped is None and news.waiting is not None
    assert [s.url for s in board.statuses(NOW + 1)] == [UP], "the running list, until the new one's past is read"
    write_history(path, days=1)
    news = feed.poll(NOW + 2)
    assert news.reshaped == SiteListChange(added=(DOWN,), relisted=True)
    assert board.status(site_id(DOWN), NOW + 2).state is State.ALERTING  # type: ignore[union-attr]
    log.close()


def test_a_list_given_before_the_log_is_there_is_the_list_the_first_seed_fills(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    log = SqliteLogReader(path)
    board = StatusBoard([SiteSpec(UP, 10.0)])
    feed = BoardFeed(log, board, NOW)
    feed.show([SiteSpec(DOWN, 10.0)])
    news = feed.poll(NOW)
    assert news.waiting is not None and news.reshaped == SiteListChange(added=(DOWN,), removed=(site_id(UP),),
                                                                        relisted=True)
    write_history(path, days=1)
    assert feed.poll(NOW).seeded
    assert [s.url for s in board.statuses(NOW)] == [DOWN] and same_as_the_log(log, board, DOWN, NOW)
    log.close()

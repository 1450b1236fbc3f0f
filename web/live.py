"""The board followed live: a poll of the log every `interval` seconds on `clock`, each poll's news out."""

from __future__ import annotations

from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.streams.ticks import Tick, fixed_rate_ticks
from monitoringapp.web.feed import BoardFeed, FeedNews

POLL_INTERVAL = 0.5


def board_news(feed: BoardFeed, clock: abc.SchedulerBase, interval: float = POLL_INTERVAL) -> Observable[FeedNews]:
    """What each poll of `feed` changed, one item per tick of `clock` (the board is updated as a side effect
    of the poll, on the clock's thread).

    ```text
    ticks:  --t1--------t2--------t3--
            [board_news(feed, clock)]
    out:    --seeded----{a, b}----{}--
    ```

    Example: ``board_news(BoardFeed(open_log_reader("m.db"), StatusBoard(), time.time()), EventLoopScheduler())``
    """

    def poll(tick: Tick) -> FeedNews:
        return feed.poll(epoch_seconds(clock.now))

    return fixed_rate_ticks(interval, clock).pipe(ops.map(poll))

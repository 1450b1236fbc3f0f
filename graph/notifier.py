"""The notifier's graph: the alert log followed from a cursor, each transition handed to every channel by
`operators.delivery`, each message sent on its channel's own worker, the outcome back to the logic.

    poll ticks ─▶ log entries, newest probe ─┐
                                             ├─▶ Deliveries ─┬─▶ events (delivered, failing, held, ...) ─▶ out
    outcomes (on the clock) ─────────────────┘               └─▶ messages ─▶ deliver, on the channel's worker
        ▲                                                                              │
        └──────────────────────────────────────────────────────────────────────────────┘

Reads through any `LogReader` (SQLite now, a JetStream log later) and never writes to it. The logic runs on
`clock`'s thread only; `deliver` (a channel's send and the record of its progress) runs on that channel's
worker, so a slow or dead channel never delays another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TypeGuard

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.subject import Subject

from monitoringapp.domain.events import AlertTransition
from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.operators.delivery import (
    Deliveries,
    DeliveryEvent,
    DeliveryOutput,
    Message,
    Outcome,
    Passed,
    Withheld,
)
from monitoringapp.operators.typed import each_at_once, keep
from monitoringapp.store.log import Cursor, Entry, LogReader, LogUnavailable, Page
from monitoringapp.streams.log_tail import LogNews, LogTail
from monitoringapp.streams.ticks import Tick, fixed_rate_ticks

POLL_INTERVAL = 0.25
PROBE_CHECK_EVERY = 5.0
PAGE = 2000
PAGES_PER_POLL = 10  # a backlog is read 20,000 transitions a poll

Deliver = Callable[[Message[Cursor]], str | None]
"""Send a message (and record the channel's progress); the error, one line without secrets, or None."""
Progress = Passed[Cursor] | Withheld
"""A channel's progress other than its deliveries: its place moved over entries it passed over, the alerts it holds."""
RecordProgress = Callable[[Progress], None]
"""Record a channel's progress (`Progress`) in the state file."""
NotifierNews = DeliveryEvent | LogNews[Entry[AlertTransition]]
"""What the notifier tells its user: the delivery events, and why the log cannot be read yet."""

_Step = DeliveryOutput | LogNews[Entry[AlertTransition]] | Message[Cursor] | Progress


def notifications(
    log: LogReader,
    deliveries: Callable[[], Deliveries[Cursor]],
    deliver: Deliver,
    read_from: Cursor,
    clock: abc.SchedulerBase,
    workers: Mapping[str, abc.SchedulerBase],
    poll_interval: float = POLL_INTERVAL,
    probe_check_every: float = PROBE_CHECK_EVERY,
    record_progress: RecordProgress | None = None,
) -> Observable[NotifierNews]:
    """Every transition stored in `log` after `read_from`, delivered by `deliver` to the channels of a fresh
    `deliveries()` per subscription, each channel's messages on `workers[channel]`; out come the events.

    The log is polled every `poll_interval` seconds (the logic's own times, backoff and lingering, are
    honoured to that step); the last stored probe's time every `probe_check_every` seconds. A channel's place moved
    over entries it passed over, and the alerts it holds by maintenance, are given to `record_progress`, on that
    channel's worker, in their order among its deliveries: a place recorded never passes a notice not delivered,
    nor an alert held that is not recorded as such.

    ```text
    ticks:     --t-------t-------t-------t-------t--
    log:         a1                 a2
    outcomes:      ok(a1)              fail(a2)        ok(a2)
               [notifications(...)]
    out:       ----Delivered(a1)-------Failing(a2)------Delivered(a2), Restored--
    ```

    Example: ``notifications(open_log_reader("m.db"), make_deliveries, deliver, BEGINNING, EventLoopScheduler(),
    {"hook": EventLoopScheduler()})``
    """

    def factory(_: abc.SchedulerBase | None) -> Observable[NotifierNews]:
        hub = deliveries()
        tail = LogTail(partial(_read, log, read_from), partial(_read, log))
        # A message's outcome is an input of the very logic that asked for the message: a loop, which no
        # stock operator closes (`expand` would run the logic off the clock's thread), so a subject carries
        # the outcomes back, hopping onto the clock.
        outcomes: Subject[Outcome] = Subject()
        next_probe_check = [epoch_seconds(clock.now)]

        def on_tick(tick: Tick) -> list[_Step]:
            now = tick.due
            steps: list[_Step] = []
            news = tail.poll()
            if news is not None and news.waiting is not None:
                steps.append(news)
            elif news is not None:
                steps.extend(hub.on_entries(((entry.event, entry.cursor) for entry in news.events), now))
            if now >= next_probe_check[0]:
                next_probe_check[0] = now + probe_check_every
                latest = _last_stored_probe(log)
                # Monitoring resumed at the first probe after the gap, not when this check saw one.
                first_after = _first_probes_after(log, hub.resumptions_to_find(latest))
                if first_after is not None:  # else told at the next check, when the log can be read
                    steps.extend(hub.on_latest_probe(latest, now, first_after))
            steps.extend(hub.messages(now))
            steps.extend(hub.passes(now))
            return steps

        def on_outcome(outcome: Outcome) -> list[_Step]:
            now = epoch_seconds(clock.now)
            return [*hub.on_outcome(outcome, now), *hub.messages(now)]

        def attempt(message: Message[Cursor]) -> Outcome:
            return Outcome(message.channel, deliver(message))

        def send(message: Message[Cursor]) -> Observable[Outcome]:
            return reactivex.start(partial(attempt, message), workers[message.channel])

        def record(progress: Progress) -> Observable[None]:
            if record_progress is None:
                return reactivex.empty()
            return reactivex.start(partial(record_progress, progress), workers[progress.channel])

        def split(steps: Observable[_Step]) -> Observable[NotifierNews]:
            sent = steps.pipe(keep(_is_message), ops.flat_map(send), ops.do_action(outcomes.on_next),
                              ops.ignore_elements())
            recorded = steps.pipe(keep(_is_progress), ops.flat_map(record), ops.ignore_elements())
            return reactivex.merge(steps.pipe(keep(_is_news)), sent, recorded)

        batches: Observable[list[_Step]] = reactivex.merge(
            fixed_rate_ticks(poll_interval, clock).pipe(ops.map(on_tick)),
            outcomes.pipe(ops.observe_on(clock), ops.map(on_outcome)))
        steps: Observable[_Step] = batches.pipe(ops.flat_map(each_at_once))
        # publish with a selector: both branches are subscribed before the first tick can fire.
        return steps.pipe(ops.publish(split), ops.finally_action(tail.close))

    return reactivex.defer(factory)


def _read(log: LogReader, cursor: Cursor) -> Page[Entry[AlertTransition]]:
    """What came after `cursor`: up to PAGES_PER_POLL full pages, so a backlog is read in a few polls."""
    page = log.transition_entries_after(cursor, PAGE)
    entries = list(page.events)
    for _ in range(PAGES_PER_POLL - 1):
        if page.cursor == cursor or len(page.events) < PAGE:
            break
        cursor = page.cursor
        page = log.transition_entries_after(cursor, PAGE)
        entries.extend(page.events)
    return Page(entries, page.cursor)


def _last_stored_probe(log: LogReader) -> float | None:
    try:
        return log.last_stored_probe_time()
    except LogUnavailable:
        return None


def _first_probes_after(log: LogReader, moments: set[float]) -> dict[float, float] | None:
    try:
        firsts = {moment: log.first_probe_time_after(moment) for moment in moments}
    except LogUnavailable:
        return None
    return {moment: first for moment, first in firsts.items() if first is not None}


def _is_message(step: _Step) -> TypeGuard[Message[Cursor]]:
    return isinstance(step, Message)


def _is_progress(step: _Step) -> TypeGuard[Progress]:
    return isinstance(step, Passed | Withheld)


def _is_news(step: _Step) -> TypeGuard[NotifierNews]:
    return not isinstance(step, Message | Passed | Withheld)


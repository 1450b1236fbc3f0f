"""The notifier's delivery logic: which channel gets what, and when (no reactivex, no I/O, no wall clock).

Every method takes `now`; the graph (`graph.notifier`) calls them on one thread and carries out the
messages they hand back, each channel on its own worker, so a slow or dead channel never delays another.

Per channel (`ChannelDelivery`), in the log's order, at least once:
- one message in flight at a time; a failed one is sent again, unchanged, after a backoff of 1 s doubling to
  5 min, each delay shortened by up to a fifth at random (`Backoff`, seeded, so tests know the times);
- a channel that coalesces waits `linger` seconds after the first notice of a burst and sends up to `batch`
  notices as one message (apprise); a webhook sends each notice as it comes;
- an alert and its recovery both older than `max_age` when a message is made become one `summary`;
- an unresolved alert is repeated as a `reminder` every `remind_every`, one at most waiting per outage; of an alert
  read back from the log at a start, only one whose site is in the config (`monitored`);
- a site's transitions inside a maintenance window are held, not delivered (a recovery with its alert; a
  certificate warning is not held); the
  alerts held, and whether their hold has ended, are kept across restarts (`Withheld`), so an outage held when the
  notifier stops is told once its window is over, or gone from the config, and its recovery goes as its alert went.
- its place moves over the entries it passes over (not for it, or held) once it is idle, at most every
  PASS_EVERY seconds (`Passed`), so a restart does not read them again; never past one not yet delivered.
`MonitorWatch` tells when the monitor stops storing probes, and when it starts again.

Example:

>>> import random
>>> from monitoringapp.domain.events import AlertTransition, TransitionKind
>>> from monitoringapp.domain.notices import transition_notice
>>> from monitoringapp.domain.notifications import ChannelConfig
>>> hook = ChannelDelivery(ChannelConfig("hook", "http://127.0.0.1:9/"), Backoff(random.Random(1)))
>>> _ = hook.offer(transition_notice(AlertTransition(10.0, "http://a/", TransitionKind.ALERT, 0.5, 10.0)), 1, 10.0)
>>> message = hook.next_message(10.0)
>>> [notice.kind.value for notice in message.notices], message.cursor
(['alert'], 1)
>>> hook.on_failed("HTTP 503", 10.5)
[Failing(channel='hook', error='HTTP 503', attempts=1, retry_at=11.473...)]
>>> hook.next_message(11.0) is None, hook.next_message(11.5).attempt
(True, 2)
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from monitoringapp.domain.events import AlertTransition, transition_id
from monitoringapp.domain.notices import (
    TOLD,
    Notice,
    NoticeKind,
    monitor_resumed_notice,
    monitor_stale_notice,
    reminder_notice,
    summary_notice,
    transition_notice,
)
from monitoringapp.domain.notifications import ChannelConfig, MaintenanceWindow, in_maintenance, maintenance_until
from monitoringapp.operators.store_silence import StoreSilence

P = TypeVar("P")  # a place in the log (store.log.Cursor); carried, never looked into
Outage = tuple[str | None, str, float | None]  # a site's notices about one outage share it (`Notice.outage`)

FIRST_RETRY = 1.0
MAX_RETRY = 300.0
JITTER = 0.2
LINGER = 1.5
"""How long a coalescing channel waits after the first notice of a burst: a burst stored within one second is
seen within 1.25 s (the log is polled every 0.25 s), so it goes out as one message within 2 s."""
BATCH = 50
PASS_EVERY = 5.0
"""How often at most a channel's place is moved over entries it passes over (not for it): one write per channel
per this many seconds, however many entries, so that a restart does not read them again."""

_EVENT_OF = {NoticeKind.ALERT: "alert", NoticeKind.RECOVERY: "recovery", NoticeKind.MONITOR_STALE: "monitor-stale",
             NoticeKind.MONITOR_RESUMED: "monitor-stale", NoticeKind.CERTIFICATE: "certificate"}


class Backoff:
    """The delay before the retry after `failures` failures in a row: `first` doubling to `cap`, shortened by
    up to `jitter` of itself, drawn from `rng` (so channels that fail together do not retry together)."""

    def __init__(self, rng: random.Random, first: float = FIRST_RETRY, cap: float = MAX_RETRY,
                 jitter: float = JITTER) -> None:
        self.rng, self.first, self.cap, self.jitter = rng, first, cap, jitter

    def delay(self, failures: int) -> float:
        base = min(self.cap, self.first * 2.0 ** min(failures - 1, 64))
        return base * (1.0 - self.jitter * self.rng.random())


@dataclass(frozen=True, slots=True)
class Queued(Generic[P]):
    notice: Notice
    cursor: P | None  # None for a notice that is not in the log (a reminder, a word about the monitor)


@dataclass(frozen=True, slots=True)
class Message(Generic[P]):
    """Notices to send to `channel` as one message; once delivered, the channel's place is `cursor` (that of
    its last logged notice; None when it holds none). `attempt` counts from 1."""

    channel: str
    notices: tuple[Notice, ...]
    cursor: P | None
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class Passed(Generic[P]):
    """Every entry of the log up to `cursor` that `channel` wants has been delivered (those after its last
    delivery were not for it, or held by maintenance): its place may move there, so a restart reads on from it."""

    channel: str
    cursor: P


@dataclass(frozen=True, slots=True)
class Withheld:
    """The alerts `channel` has held by maintenance and not yet seen the recovery of, by id: True once its hold
    ended and it was delivered. Recorded in the state file before the channel's place moves past them: the log
    alone cannot tell, after a restart, an alert delivered from one held (under a window since removed)."""

    channel: str
    alerts: tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class Delivered:
    channel: str
    notices: tuple[Notice, ...]
    attempts: int
    at: float


@dataclass(frozen=True, slots=True)
class Failing:
    """The channel went from delivering to failing (said once, not at every retry)."""

    channel: str
    error: str
    attempts: int
    retry_at: float


@dataclass(frozen=True, slots=True)
class Restored:
    """The channel delivers again, after failing since `since`."""

    channel: str
    attempts: int
    since: float


@dataclass(frozen=True, slots=True)
class Held:
    """A notice not delivered to `channel`, and why."""

    channel: str
    notice: Notice
    reason: str


@dataclass(frozen=True, slots=True)
class MonitorNews:
    """The monitor stopped storing probes (`monitor-stale`), or started again (`monitor-resumed`)."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the attempt of `channel`'s message in flight went: `error` None when it was delivered."""

    channel: str
    error: str | None = None


DeliveryEvent = Delivered | Failing | Restored | Held | MonitorNews
"""What the notifier tells its user."""
DeliveryOutput = DeliveryEvent | Withheld
"""What the logic hands back besides messages: what to tell, and what to record."""


class ChannelDelivery(Generic[P]):
    """One channel's queue, message in flight, backoff, reminders and maintenance (see the module)."""

    def __init__(self, config: ChannelConfig, backoff: Backoff, maintenance: Sequence[MaintenanceWindow] = (), *,
                 linger: float = 0.0, batch: int = 1, monitored: frozenset[str] | None = None) -> None:
        self.config = config
        # The config's sites (None: any). An open alert of another, read back from the log at a start or reload, is
        # not reminded of: a site removed from the config while down is probed by no monitor, so its alert stays open
        # in the log for good, and was reminded of for ever. One whose alert comes while this runs is still judged by
        # a monitor (a site added to -m's config, which the notifier reads only at SIGHUP): it is reminded of.
        self.monitored = None if monitored is None else set(monitored)
        self.name = config.name
        self.backoff = backoff
        self.maintenance = maintenance
        self.linger = linger
        self.batch = batch
        self._queue: deque[Queued[P]] = deque()
        self._in_flight: Message[P] | None = None
        self._failed: Message[P] | None = None  # sent again at `_retry_at`
        self._retry_at: float | None = None
        self._failures = 0
        self._failing_since: float | None = None
        self._linger_until: float | None = None
        self._reminders: dict[Outage, tuple[Notice, float]] = {}
        self._held_alerts: dict[Outage, tuple[Notice, float]] = {}  # held by maintenance, until its end
        self._released: set[Outage] = set()  # outages whose held alert went out when the maintenance ended
        self._withheld: dict[str, bool] = {}  # see `Withheld`
        # Summaries: the recoveries queued, oldest first, until they are older than `max_age`; then their ids
        # (sent as summaries) and their outages (whose alert and reminders still queued are not sent).
        self._recoveries: deque[Notice] = deque()
        self._summarized: set[str] = set()
        self._dropped: set[Outage] = set()
        # The place of the last entry offered, when it was passed over (not for this channel, or held) and nothing
        # queued after it: once the channel is idle, everything it wanted up to there has been delivered.
        self._passed: P | None = None
        self._pass_after = -math.inf

    @property
    def idle(self) -> bool:
        return not self._queue and self._in_flight is None and self._failed is None

    def wants(self, notice: Notice) -> bool:
        event = _EVENT_OF.get(notice.kind)
        return event is not None and event in self.config.events and self.config.wants_site(notice.site)

    def resume_reminders(self, alerts: Iterable[Notice], now: float, withheld: Mapping[str, bool] | None = None
                         ) -> Withheld | None:
        """Alerts still unresolved when the notifier starts: remind of them from `now` on; one that began in a
        maintenance window, or that was held by one before the restart (`withheld`, as last recorded: see
        `Withheld`), is held until the window ends, and delivered now if it has ended or is no longer in the
        config (a repeat, with the same id, if it was delivered at its end but not yet recorded so). What to
        record before anything is sent, when it holds one not recorded yet."""
        self._withheld = dict(withheld or {})
        unrecorded = False
        for alert in alerts:
            if not self.wants(alert):
                continue
            went = self._withheld.get(alert.id)
            if went:
                self._released.add(alert.outage)  # its recovery goes as it went
                self._remind(alert, now)
            elif went is not None or self._held(alert):
                self._hold(alert)
                unrecorded = unrecorded or went is None
                self._withheld[alert.id] = False
            else:
                self._remind(alert, now)
        return self._withheld_now() if unrecorded else None

    def resume_failing(self, attempts: int, since: float) -> None:
        """The channel was failing when the notifier stopped (or reloaded): `attempts` in a row since `since`, its
        failure said then. Its first delivery says it delivers again, and its backoff goes on from there."""
        self._failures, self._failing_since = attempts, since

    def offer(self, notice: Notice, cursor: P | None, now: float) -> list[DeliveryOutput]:
        """A notice for this channel, in the log's order (filtered here: a notice it does not want is dropped)."""
        events: list[DeliveryOutput] = []
        went = self._forget_withheld(notice, events)
        if not self.wants(notice) or (notice.kind is NoticeKind.ALERT and self._withheld.get(notice.id)):
            if notice.kind is NoticeKind.RECOVERY:
                self._outage_over(notice.outage)  # a channel told of alerts only is still told of no more
            self.pass_over(cursor)  # not for it, or an alert delivered at its window's end before a restart
            return events
        if notice.kind is NoticeKind.RECOVERY:
            self._held_alerts.pop(notice.outage, None)
        if notice.kind is NoticeKind.RECOVERY and (notice.outage in self._released or went):
            self._released.discard(notice.outage)  # its alert went out: so does its recovery
        elif (notice.kind is NoticeKind.RECOVERY and went is not None) or self._held(notice):
            if notice.kind is NoticeKind.RECOVERY:
                self._reminders.pop(notice.outage, None)
            elif notice.kind is NoticeKind.ALERT:
                self._judged(notice)
                self._hold(notice)  # remembered from the log's alert state at a restart: its place may be passed
                self._withheld[notice.id] = False
                events.append(self._withheld_now())  # recorded before its place is passed
            self.pass_over(cursor)
            return [Held(self.name, notice, "maintenance"), *events]
        if notice.kind is NoticeKind.ALERT:
            self._held_alerts.pop(notice.outage, None)  # held at a restart, no longer in maintenance: sent here
            self._judged(notice)
            self._remind(notice, now)
        elif notice.kind is NoticeKind.RECOVERY:
            self._reminders.pop(notice.outage, None)
        self._enqueue(Queued(notice, cursor), now)
        if cursor is not None:
            self._passed = None  # its delivery moves the place past what came before
        return events

    def _outage_over(self, outage: Outage) -> None:
        """An outage whose recovery the channel does not want (`events` without `recovery`) is over all the same: no
        reminder of it, and its alert, if held by maintenance, is not delivered when the window ends. Kept, each
        outage's reminder went on for ever, one more every outage, for as long as the notifier ran."""
        self._reminders.pop(outage, None)
        self._held_alerts.pop(outage, None)
        self._released.discard(outage)

    def _forget_withheld(self, notice: Notice, events: list[DeliveryOutput]) -> bool | None:
        """A recovery ends what was kept of its alert's hold (`Withheld`): what was kept, None if nothing."""
        if notice.kind is not NoticeKind.RECOVERY or not self._withheld or notice.site is None \
                or notice.start is None:
            return None
        went = self._withheld.pop(transition_id(notice.site, notice.location, NoticeKind.ALERT, notice.start), None)
        if went is not None:
            events.append(self._withheld_now())
        return went

    def _withheld_now(self) -> Withheld:
        return Withheld(self.name, tuple(sorted(self._withheld.items())))

    def pass_over(self, cursor: P | None) -> None:
        """An entry of the log at `cursor` that is not for this channel."""
        if cursor is not None:
            self._passed = cursor

    def passed(self, now: float) -> Passed[P] | None:
        """Where the channel's place may move over the entries it passed over: only while it is idle (all it
        wanted before them delivered: one failing, or with a notice queued, moves nothing), at most once every
        PASS_EVERY seconds."""
        if self._passed is None or not self.idle or now < self._pass_after:
            return None
        passed, self._passed = Passed(self.name, self._passed), None
        self._pass_after = now + PASS_EVERY
        return passed

    def next_message(self, now: float) -> Message[P] | None:
        """The message to send now, if any; it is then in flight until `on_delivered` or `on_failed`."""
        self._release_held(now)
        self._remind_due(now)
        if self._in_flight is not None:
            return None
        if self._failed is not None:
            assert self._retry_at is not None
            if now < self._retry_at:
                return None
            self._in_flight, self._failed = replace(self._failed, attempt=self._failed.attempt + 1), None
            return self._in_flight
        if not self._queue or (self._linger_until is not None and now < self._linger_until):
            return None
        self._linger_until = None
        self._collapse(now)
        taken = self._take(self.batch)
        if not taken:
            return None
        cursors = [queued.cursor for queued in taken if queued.cursor is not None]
        self._in_flight = Message(self.name, tuple(queued.notice for queued in taken),
                                  cursors[-1] if cursors else None, self._failures + 1)
        return self._in_flight

    def on_delivered(self, now: float) -> list[DeliveryOutput]:
        message = self._take_in_flight()
        events: list[DeliveryOutput] = [Delivered(self.name, message.notices, message.attempt, now)]
        went = [notice.id for notice in message.notices if self._withheld.get(notice.id) is False]
        if went:  # held alerts out at last: their recoveries go too, after a restart as before it
            self._withheld.update(dict.fromkeys(went, True))
            events.append(self._withheld_now())
        if self._failing_since is not None:
            events.append(Restored(self.name, self._failures + 1, self._failing_since))
        self._failures, self._failing_since, self._retry_at = 0, None, None
        return events

    def on_failed(self, error: str, now: float) -> list[DeliveryOutput]:
        self._failed = self._take_in_flight()
        self._failures += 1
        self._retry_at = now + self.backoff.delay(self._failures)
        if self._failing_since is not None:
            return []
        self._failing_since = now
        return [Failing(self.name, error, self._failures, self._retry_at)]

    def next_wake(self) -> float | None:
        """When `next_message` may next have something without any new input (None: not before one)."""
        if self._in_flight is not None:
            return None
        if self._failed is not None:
            return self._retry_at
        if self._queue:
            return self._linger_until
        return min((due for _, due in (*self._reminders.values(), *self._held_alerts.values())), default=None)

    def _take_in_flight(self) -> Message[P]:
        message, self._in_flight = self._in_flight, None
        assert message is not None, "an outcome without a message in flight"
        return message

    def _enqueue(self, queued: Queued[P], now: float) -> None:
        if self.linger > 0 and self.idle:
            self._linger_until = now + self.linger
        self._queue.append(queued)
        if queued.notice.kind is NoticeKind.RECOVERY:
            self._recoveries.append(queued.notice)

    def _held(self, notice: Notice) -> bool:
        """In maintenance: the notice's own time, or for a recovery the start of its outage, as its alert was (the
        recovery of an alert delivered before a window goes out, even in one: else the alert stays open). A
        certificate warning is never held: no maintenance causes it, it comes days ahead of its expiry, and once
        passed over it would not come again (the next is days later)."""
        if notice.site is None or not self.maintenance or notice.kind is NoticeKind.CERTIFICATE:
            return False
        moment = notice.start if notice.kind is NoticeKind.RECOVERY else notice.time
        return moment is not None and in_maintenance(self.maintenance, notice.site, moment)

    def _hold(self, alert: Notice) -> None:
        assert alert.site is not None
        self._held_alerts[alert.outage] = (alert, maintenance_until(self.maintenance, alert.site, alert.time)
                                           or alert.time)

    def _release_held(self, now: float) -> None:
        """An alert held by maintenance whose outage outlasts it is delivered when the maintenance ends: a site
        still down afterwards is no longer maintenance. Same notice, same id; its place in the log is passed."""
        for key, (alert, until) in list(self._held_alerts.items()):
            if until > now:
                continue
            later = maintenance_until(self.maintenance, alert.site, now)
            if later is not None:  # another window has begun since
                self._held_alerts[key] = (alert, later)
                continue
            del self._held_alerts[key]
            self._released.add(key)
            self._remind(alert, now)
            self._enqueue(Queued(alert, None), now)

    def _judged(self, alert: Notice) -> None:
        """An alert that came while this runs: its site is judged by a monitor, in the config or not (yet)."""
        if self.monitored is not None and alert.site is not None:
            self.monitored.add(alert.site)

    def _remind(self, alert: Notice, now: float) -> None:
        period = self.config.remind_every
        if period is None or (self.monitored is not None and alert.site not in self.monitored):
            return
        # The first reminder after `now`: none for the time the notifier did not run.
        periods = max(1, math.floor((now - alert.time) / period) + 1)
        self._reminders[alert.outage] = (alert, alert.time + periods * period)

    def _remind_due(self, now: float) -> None:
        period = self.config.remind_every
        for key, (alert, due) in list(self._reminders.items()):
            if due > now:
                continue
            assert period is not None
            while due + period <= now:  # one reminder for a catch-up, not one per period missed
                due += period
            self._reminders[key] = (alert, due + period)
            reminder = reminder_notice(alert, due)
            if not self._held(reminder):
                self._drop_queued_reminder(key)
                self._enqueue(Queued(reminder, None), now)

    def _drop_queued_reminder(self, outage: Outage) -> None:
        """A reminder of `outage` still queued (its channel failing, or lingering) is replaced by the one now due: a
        channel that comes back gets one reminder of each outage, the latest, not one per period it was down."""
        for queued in self._queue:
            if queued.notice.kind is NoticeKind.REMINDER and queued.notice.outage == outage:
                self._queue.remove(queued)
                return

    def _collapse(self, now: float) -> None:
        """An outage whose recovery is older than `max_age` becomes one summary, at its recovery's place; its
        alert and reminders still queued go (the summary says what they would). Costs nothing per message
        beyond the recoveries that turned old since the last one."""
        stale = now - self.config.max_age
        while self._recoveries and self._recoveries[0].time < stale:
            recovery = self._recoveries.popleft()
            self._summarized.add(recovery.id)
            self._dropped.add(recovery.outage)

    def _take(self, count: int) -> list[Queued[P]]:
        """Up to `count` notices off the queue, summaries made and the notices they replace left out."""
        taken: list[Queued[P]] = []
        while self._queue and len(taken) < count:
            queued = self._queue.popleft()
            notice = queued.notice
            if notice.kind is NoticeKind.RECOVERY:
                if notice.id in self._summarized:
                    self._summarized.discard(notice.id)
                    self._dropped.discard(notice.outage)
                    queued = Queued(summary_notice(notice), queued.cursor)
                elif self._recoveries and self._recoveries[0] == notice:
                    self._recoveries.popleft()
                elif notice in self._recoveries:
                    self._recoveries.remove(notice)  # queued out of time order: rare
            elif notice.outage in self._dropped:
                continue
            taken.append(queued)
        return taken


class MonitorWatch:
    """Tells when no probe has been stored for more than `threshold` seconds (`monitor-stale`), once, and when
    probes are stored again (`monitor-resumed`). `announced`: the last probe time of a stale its channel was
    already told (delivered before a restart), so it is not told twice. Given the log's last stored probe's time
    (in the log's order): after a step back of the clock, the probes stored since count as new, and the silence
    is timed as `StoreSilence` times it."""

    def __init__(self, threshold: float, announced: float | None = None) -> None:
        self.threshold = threshold
        self._stale_since = announced
        self._silence = StoreSilence()

    @property
    def stale_since(self) -> float | None:
        """The last probe before the gap it told of (None: not stale): the first probe after it is the resumption."""
        return self._stale_since

    def on_latest_probe(self, latest: float | None, now: float,
                        first_after: Mapping[float, float] | None = None) -> Notice | None:
        """What to tell, given the time of the probe the log stored last (None: no probe stored yet, nothing to
        watch) and, for each `stale_since` asked, the first probe stored after it: the time monitoring resumed,
        whenever the resumption is noticed (the last stored probe, when not given)."""
        if latest is None:
            return None
        self._silence.saw(latest, now)
        if self._stale_since is not None:
            if another_probe(latest, self._stale_since):
                # The first probe stamped after the gap, unless the clock stepped back (probes stamped before
                # it, or after it but stored before it): then the one that ended it.
                first = (first_after or {}).get(self._stale_since, latest)
                resumed = first if self._stale_since < first <= latest else latest
                notice = monitor_resumed_notice(self._stale_since, resumed)
                self._stale_since = None
                return notice
            return None
        stored_at = self._silence.stored_at
        if stored_at is not None and now - stored_at > self.threshold:
            self._stale_since = latest
            return monitor_stale_notice(latest, stored_at + self.threshold)
        return None


def another_probe(last: float, before: float) -> bool:
    """Whether the last stored probe's time `last` is another probe than the one at `before`: times compared to
    the millisecond they are stored to (a state file keeps `before` so), in either direction (after a step back of
    the clock the probes stored since are stamped before it)."""
    return round(last * 1000) != round(before * 1000)


class Deliveries(Generic[P]):
    """Every channel and its monitor watch: log entries, probe times and outcomes in; events and messages out.

    `starts` is each channel's place in the log when the notifier starts; an entry reaches a channel only if
    it lies after that place (`after(entry_cursor, start)`), so channels that were at different places
    share one read of the log. `watches` is each channel's monitor watch (none: not told of the monitor): a
    channel's own, since what it was told before a restart is what it delivered, and a channel failing when
    the notifier stopped was told nothing yet.
    """

    def __init__(self, channels: Sequence[ChannelDelivery[P]], watches: Mapping[str, MonitorWatch] | None = None,
                 starts: Mapping[str, P] | None = None, after: Callable[[P, P], bool] | None = None) -> None:
        self.channels = {channel.name: channel for channel in channels}
        self.watches = dict(watches or {})
        self._starts = dict(starts or {})
        self._after = after

    def on_entries(self, entries: Iterable[tuple[AlertTransition, P]], now: float) -> list[DeliveryOutput]:
        events: list[DeliveryOutput] = []
        for transition, cursor in entries:
            notice = transition_notice(transition) if transition.kind in TOLD else None
            for channel in self.channels.values():
                start = self._starts.get(channel.name)
                if start is not None and self._after is not None and not self._after(cursor, start):
                    continue
                if notice is None:
                    channel.pass_over(cursor)  # a kind no channel is told of (a silence)
                else:
                    events.extend(channel.offer(notice, cursor, now))
        return events

    def passes(self, now: float) -> list[Passed[P]]:
        """The channels whose place may move over entries they passed over (see `ChannelDelivery.passed`)."""
        due = (channel.passed(now) for channel in self.channels.values())
        return [passed for passed in due if passed is not None]

    def resumptions_to_find(self, latest: float | None) -> set[float]:
        """The gaps that `latest` ends (each watch's `stale_since` other than it): the first probe after each is
        the time monitoring resumed, to be read from the log and given to `on_latest_probe`."""
        if latest is None:
            return set()
        return {since for since in (w.stale_since for w in self.watches.values()) if since is not None
                and another_probe(latest, since)}

    def on_latest_probe(self, latest: float | None, now: float,
                        first_after: Mapping[float, float] | None = None) -> list[DeliveryOutput]:
        """What each channel's watch has to tell; each notice said once (`MonitorNews`) however many get it."""
        events: list[DeliveryOutput] = []
        said: set[str] = set()
        for name, watch in self.watches.items():
            notice = watch.on_latest_probe(latest, now, first_after)
            if notice is None:
                continue
            if notice.id not in said:
                said.add(notice.id)
                events.append(MonitorNews(notice))
            events.extend(self.channels[name].offer(notice, None, now))
        return events

    def on_outcome(self, outcome: Outcome, now: float) -> list[DeliveryOutput]:
        channel = self.channels[outcome.channel]
        return channel.on_delivered(now) if outcome.error is None else channel.on_failed(outcome.error, now)

    def messages(self, now: float) -> list[Message[P]]:
        """The messages due now, at most one per channel."""
        due = (channel.next_message(now) for channel in self.channels.values())
        return [message for message in due if message is not None]

    def next_wake(self) -> float | None:
        return min((w for w in (c.next_wake() for c in self.channels.values()) if w is not None), default=None)

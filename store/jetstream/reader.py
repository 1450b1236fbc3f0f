"""The `MONITOR` stream read: `LogReader` over JetStream, so every reader follows a cluster as it follows a file.

A cursor's `position` is a stream sequence, its `log` the stream's creation time and its `time` the arrival time
of its message in the stream (a stream deleted and made again is another log: a cursor of the old one finds its
place again by arrival time, the order JetStream keeps). `*_since` reads by time: the stream keeps arrival times,
and an event arrives after it happened (a spooled probe much later), so from the messages that arrived since
`since` (less `CLOCK_SKEW`), filtered by the event's own time and sorted; `*_after` reads every message after the
cursor's sequence. A poll that finds the
stream's last sequence unchanged reads nothing. Each site's alert state is one read: the stream keeps its last
message per `monitor.state.<site>` subject.
"""

from __future__ import annotations

import asyncio
import time
from array import array
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Protocol, TypeVar

import nats
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamInfo

from monitoringapp.domain.events import (
    ALERT_KINDS,
    NO_RESPONSE_MS,
    AlertTransition,
    LastOutcomes,
    Probe,
    ProbeColumns,
    outcome_key,
)
from monitoringapp.store.jetstream.link import NatsLink
from monitoringapp.store.jetstream.subjects import (
    FORMAT,
    PROBES,
    STREAM,
    TRANSITIONS,
    location_probe_subjects,
    probe_from_message,
    transition_from_message,
)
from monitoringapp.store.log import Cursor, Entry, LogNotCreated, Page
from monitoringapp.store.outcome_fold import OutcomeFold


class _Event(Protocol):
    @property
    def host(self) -> str: ...

    @property
    def timestamp(self) -> float: ...


E = TypeVar("E", bound=_Event)
Stored = tuple[int, bytes, float | None]
"""(stream sequence, payload, arrival time)"""
Scan = TypeVar("Scan", list[Stored], tuple[str, int, list[Stored]], tuple[list[Stored], list[Stored]])
"""What a read of messages gives: the messages; (the stream's log id, its last sequence, the messages); or two
reads' messages."""


def _time_of(event: _Event) -> float:
    return event.timestamp
READ_TIMEOUT = 10.0
# How far before `since` a read by time starts. An event is stored after it happens (a prober's spool holds a
# probe back, never forward), so its arrival is never before its own time but for clocks that disagree: the
# prober's (or the evaluator's) stamps the event, the stream's server stamps its arrival. NTP keeps them within
# milliseconds; a clock left to drift (tens of parts per million) takes weeks to stray a minute. A minute more of
# messages read, where the spool's slack was 15.
CLOCK_SKEW = 60.0
# How far after `before` a read by time ends: a prober's spool sends its probes late (up to this, as a rule).
ARRIVAL_SLACK = 900.0
_BATCH = 1000
FIRST_AFTER_SCAN = 1000
_NOT_KNOWN_YET_WAIT = 0.01
# How far back `sites()` looks for probes.
SITES_RECENT = 600.0
# How many messages `last_outcomes` reads back at most, and how many sequences at a read.
OUTCOMES_SCAN = 20_000
OUTCOMES_BLOCK = 5_000


class JetStreamLogReader:
    """`LogReader` of the `MONITOR` stream through `link` (which may not be connected yet: reads then raise
    LogUnavailable and followers retry), and `PastReader` of one location's probes (a prober's restart).

    With `location`, every probe read is that location's (its subjects filter them in the server); each read
    waits at most `timeout` seconds for the cluster."""

    def __init__(self, link: NatsLink, *, arrival_slack: float = ARRIVAL_SLACK, clock_skew: float = CLOCK_SKEW,
                 outcomes_scan: int = OUTCOMES_SCAN, outcomes_block: int = OUTCOMES_BLOCK, location: str | None = None,
                 timeout: float = READ_TIMEOUT) -> None:
        self.link = link
        # One location's probes only (a prober's own past), or every location's.
        self.probe_subjects: tuple[str, ...] = PROBES if location is None else location_probe_subjects(location)
        self.timeout = timeout
        self.arrival_slack = arrival_slack
        self.clock_skew = clock_skew
        self.scanned = 0  # messages this reader's reads have taken in and decoded: how much of the stream they cover
        self.outcomes_scan = outcomes_scan
        self.outcomes_block = outcomes_block

    def probes_since(self, since: float | None, hosts: Collection[str] | None = None) -> Page[Probe]:
        return self._since(self.probe_subjects, since, hosts, probe_from_message, strict=True)

    def probes_after(self, cursor: Cursor, hosts: Collection[str] | None = None) -> Page[Probe]:
        return self._after(self.probe_subjects, cursor, hosts, probe_from_message)

    def transitions_since(self, since: float | None,
                          hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        return self._since(TRANSITIONS, since, hosts, transition_from_message, strict=False)

    def transitions_after(self, cursor: Cursor, hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        return self._after(TRANSITIONS, cursor, hosts, transition_from_message)

    def transition_entries_after(self, cursor: Cursor, limit: int = 500) -> Page[Entry[AlertTransition]]:
        log, last, messages = self._read_after(TRANSITIONS, cursor, limit)
        entries = []
        for sequence, payload, arrived in messages:
            transition = transition_from_message(payload)
            if transition is not None:
                entries.append(Entry(transition, Cursor(log, sequence, arrived)))
        # A full page ends at its last message; a short one read to the stream's end.
        end = messages[-1][0] if len(messages) == limit else last
        return Page(entries, Cursor(log, end, _arrival_of_last(messages, cursor.time)))

    def transitions_end(self) -> Cursor:
        log, last = self.link.call(_stream_state, self.timeout)
        return Cursor(log, last, None)

    def latest_probe_time(self) -> float | None:
        """The last probe to arrive: a stream's newest by timestamp would be a scan of it, and the last to arrive
        is that one but for a clock stepped back or a prober's spool emptied late."""
        return self.last_stored_probe_time()

    def last_stored_probe_time(self) -> float | None:
        async def read(js: JetStreamContext) -> list[Stored]:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.LAST, filter_subjects=list(self.probe_subjects))
            return await _read_all(js, self.timeout, config, limit=1)

        messages = self._scan(read)
        latest = probe_from_message(messages[0][1]) if messages else None
        return latest.timestamp if latest is not None else None

    def first_probe_time_after(self, moment: float) -> float | None:
        """From the probes that arrived after `moment`, the first FIRST_AFTER_SCAN of them: a probe taken after
        `moment` arrives after it, and the ones that arrive first are the earliest taken, but for a prober's
        spool emptied late (its probes may then be among the later ones). No `clock_skew` before `moment`, as
        reads by time have: a probe of a clock ahead that arrived before `moment` is missed, so the answer is late
        by at most that clock's lead, while starting the skew earlier would read every site's probes of the last
        minute before the gap (60,000 at 1,000 sites) at each gap looked up."""
        async def read(js: JetStreamContext) -> list[Stored]:
            start = datetime.fromtimestamp(max(0.0, moment), UTC)
            config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start,
                                    filter_subjects=list(self.probe_subjects))
            return await _read_all(js, self.timeout, config, limit=FIRST_AFTER_SCAN, patient=False)

        messages = self._scan(read)
        taken = (probe_from_message(payload) for _, payload, _ in messages)
        return min((probe.timestamp for probe in taken if probe is not None and probe.timestamp > moment),
                   default=None)

    def last_transitions(self, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
        async def read(js: JetStreamContext) -> list[Stored]:
            config = ConsumerConfig(deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
                                    filter_subjects=["monitor.state.>"])
            return await _read_all(js, self.timeout, config)

        messages = self._scan(read)
        latest: dict[str, AlertTransition] = {}
        for _, payload, _ in messages:
            transition = transition_from_message(payload)
            if transition is None or transition.kind not in ALERT_KINDS:
                continue
            if hosts is None or transition.host in hosts:
                latest[transition.host] = transition
        return latest

    def last_outcomes(self, before: float, hosts: Collection[str] | None = None) -> dict[str, LastOutcomes]:
        """Read back from the stream, newest first, a block of `outcomes_block` sequences at a time from the last
        message that arrived by `before` plus the arrival slack, until every site in `hosts` has its last
        success and last failure, the stream's first message, or `outcomes_scan` messages (JetStream reads only
        forward, and probe subjects are buckets, not sites: no per-site last message to ask for). Exact within
        that bound (barring probes a prober's spool sent later than the slack); beyond it a site still failing
        is down since the oldest failure read, and one never seen failing has no last failure."""
        fold = OutcomeFold(before, hosts)
        latest = datetime.fromtimestamp(max(0.0, before + self.arrival_slack), UTC)

        async def bounds(js: JetStreamContext) -> tuple[int, int]:
            info = await _stream_info(js)
            later = await _read_all(js, self.timeout, ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=latest,
                filter_subjects=list(self.probe_subjects)), limit=1)
            return int(info.state.first_seq), later[0][0] - 1 if later else int(info.state.last_seq)

        first, end = self.link.call(bounds, self.timeout)
        read = 0
        while end >= max(first, 1) and read < self.outcomes_scan and not fold.settled:
            start = max(first, 1, end - self.outcomes_block + 1)

            async def block(js: JetStreamContext, start: int = start, end: int = end) -> list[Stored]:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start,
                                        filter_subjects=list(self.probe_subjects))
                return await _read_all(js, self.timeout, config, up_to=end, patient=False)

            messages = self._scan(block)
            read += len(messages)
            probes = (probe_from_message(payload) for _, payload, _ in messages)
            fold.add_older((probe.host, probe.timestamp, probe.available) for probe in probes if probe is not None)
            end = start - 1
        return fold.outcomes()

    def probe_history(self, since: float, before: float, hosts: Collection[str] | None = None,
                      rows: int = 20_000) -> Iterator[tuple[ProbeColumns, ...]]:
        """Read back in blocks of `rows` sequences, newest block first, from the last message that arrived by
        `before` plus the arrival slack (a spooled probe arrives up to that late) down to the first that arrived
        since `since` less the clock skew (a probe never arrives before its time, but for the clocks). One site's
        probes of one location arrive in time order (one is in flight at a time, and the spool sends in order), so
        each block's are older than the next block's: the windows' order, for a reader of one `location` (a
        prober's); a reader of every location gets each block sorted by time, and two locations' probes of a site
        may then straddle blocks."""
        wanted = None if hosts is None else hosts if isinstance(hosts, set | frozenset) else set(hosts)
        first_arrival = datetime.fromtimestamp(max(0.0, since - self.clock_skew), UTC)
        last_arrival = datetime.fromtimestamp(max(0.0, before + self.arrival_slack), UTC)
        subjects = list(self.probe_subjects)

        async def bounds(js: JetStreamContext) -> tuple[int, int]:
            info = await _stream_info(js)
            end = int(info.state.last_seq)
            later = await _read_all(js, self.timeout, ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=last_arrival, filter_subjects=subjects),
                limit=1, up_to=end, patient=False)
            start = await _read_all(js, self.timeout, ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=first_arrival, filter_subjects=subjects),
                limit=1, up_to=end, patient=False)
            return (start[0][0] if start else end + 1), (later[0][0] - 1 if later else end)

        first, end = self.link.call(bounds, self.timeout)
        while end >= first:
            start = max(first, end - rows + 1)

            async def block(js: JetStreamContext, start: int = start, end: int = end) -> list[Stored]:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start,
                                        filter_subjects=subjects)
                return await _read_all(js, self.timeout, config, up_to=end, patient=False)

            by_site: dict[str, list[Probe]] = {}
            messages = self._scan(block)
            for _, payload, _ in messages:
                probe = probe_from_message(payload)
                if probe is not None and since < probe.timestamp <= before and (wanted is None
                                                                                 or probe.host in wanted):
                    by_site.setdefault(probe.host, []).append(probe)
            if by_site:
                yield tuple(_columns(host, probes) for host, probes in by_site.items())
            end = start - 1

    def sites(self) -> frozenset[str]:
        """The sites with a transition in the stream, and those probed in the last `SITES_RECENT` seconds of
        arrivals: probe subjects are buckets, not sites, and the whole stream is too much to read to name them."""
        async def read(js: JetStreamContext) -> tuple[list[Stored], list[Stored]]:
            last_per_site = ConsumerConfig(deliver_policy=DeliverPolicy.LAST_PER_SUBJECT,
                                           filter_subjects=list(TRANSITIONS))
            since = datetime.fromtimestamp(max(0.0, time.time() - SITES_RECENT), UTC)
            recent = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since,
                                    filter_subjects=list(self.probe_subjects))
            _, last = await _stream_state(js)
            return (await _read_all(js, self.timeout, last_per_site),
                    await _read_all(js, self.timeout, recent, up_to=last))

        transitions, probes = self._scan(read)
        decoded = [*(probe_from_message(payload) for _, payload, _ in probes),
                   *(transition_from_message(payload) for _, payload, _ in transitions)]
        found = {event.host for event in decoded if event is not None}
        return frozenset(found)

    def schema_version(self) -> int:
        return FORMAT

    def close(self) -> None:
        """The link is its owner's to close."""

    # -- reading ---------------------------------------------------------------------------------------

    def _scan(self, read: Callable[[JetStreamContext], Awaitable[Scan]]) -> Scan:
        """What `read` takes from the stream, waited for at most the reader's timeout, its messages counted in
        `scanned`."""
        taken = self.link.call(read, self.timeout)
        self.scanned += len(taken) if isinstance(taken, list) else sum(
            len(messages) for messages in taken if isinstance(messages, list))
        return taken

    def _since(self, subjects: Sequence[str], since: float | None, hosts: Collection[str] | None,
               decode: Callable[[bytes], E | None], *, strict: bool) -> Page[E]:
        async def read(js: JetStreamContext) -> tuple[str, int, list[Stored]]:
            log, last = await _stream_state(js)
            if since is None:
                config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL, filter_subjects=list(subjects))
            else:
                start = datetime.fromtimestamp(max(0.0, since - self.clock_skew), UTC)
                config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start,
                                        filter_subjects=list(subjects))
            return log, last, await _read_all(js, self.timeout, config, up_to=last)

        log, last, messages = self._scan(read)
        events = [event for event in (decode(payload) for _, payload, _ in messages) if event is not None
                  and (hosts is None or event.host in hosts)
                  and (since is None or (event.timestamp > since if strict else event.timestamp >= since))]
        events.sort(key=_time_of)
        return Page(events, Cursor(log, last, _arrival_of_last(messages, None)))

    def _after(self, subjects: Sequence[str], cursor: Cursor, hosts: Collection[str] | None,
               decode: Callable[[bytes], E | None]) -> Page[E]:
        log, last, messages = self._read_after(subjects, cursor)
        events = [event for event in (decode(payload) for _, payload, _ in messages) if event is not None
                  and (hosts is None or event.host in hosts)]
        return Page(events, Cursor(log, last, _arrival_of_last(messages, cursor.time)))

    def _read_after(self, subjects: Sequence[str], cursor: Cursor,
                    limit: int | None = None) -> tuple[str, int, list[Stored]]:
        """(log, the position read up to, the messages of `subjects` after `cursor`: at most `limit`)."""
        async def read(js: JetStreamContext) -> tuple[str, int, list[Stored]]:
            log, last = await _stream_state(js)
            position = cursor.position if cursor.log in (log, "") else await _anchor(js, cursor)
            if last <= position:
                return log, position, []
            config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=position + 1,
                                    filter_subjects=list(subjects))
            return log, last, await _read_all(js, self.timeout, config, up_to=last, limit=limit)

        return self._scan(read)


def _columns(host: str, probes: list[Probe]) -> ProbeColumns:
    """One site's probes as the windows take them: in time order, packed."""
    if any(later.timestamp < earlier.timestamp for earlier, later in pairwise(probes)):
        probes.sort(key=_time_of)
    return ProbeColumns(host, array("d", (probe.timestamp for probe in probes)),
                        array("f", (NO_RESPONSE_MS if probe.response_time_ms is None else probe.response_time_ms
                                    for probe in probes)),
                        array("I", (outcome_key(probe.status, probe.error, probe.available) for probe in probes)))


def _arrival_of_last(messages: list[Stored], otherwise: float | None) -> float | None:
    return messages[-1][2] if messages else otherwise


async def _stream_info(js: JetStreamContext) -> StreamInfo:
    """The stream's info; LogNotCreated before the stream is."""
    try:
        return await js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        raise _not_created() from None


async def _stream_state(js: JetStreamContext) -> tuple[str, int]:
    """(the stream's log id: its creation time, its last sequence)."""
    info = await _stream_info(js)
    created = info.created.isoformat() if isinstance(info.created, datetime) else str(info.created)
    return created, int(info.state.last_seq)


def _not_created() -> LogNotCreated:
    return LogNotCreated(f"waiting for the {STREAM} stream to be created by a prober (-m --nats)")


async def _anchor(js: JetStreamContext, cursor: Cursor) -> int:
    # Another stream took the name: find our place again by time, the one thing both share.
    if cursor.time is None:
        return 0
    config = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME,
                            opt_start_time=datetime.fromtimestamp(cursor.time, UTC))
    first = await _read_all(js, READ_TIMEOUT, config, limit=1)
    return first[0][0] - 1 if first else 0


async def _read_all(js: JetStreamContext, timeout: float, config: ConsumerConfig, *, up_to: int | None = None,
                    limit: int | None = None, patient: bool = True) -> list[Stored]:
    """Every message an ephemeral pull consumer of `config` delivers, up to sequence `up_to` (the stream's end
    when the read began) or `limit` messages; not `patient`, it waits for none that may never come (`up_to`
    bounds a block of sequences that may hold no message of the consumer's subjects)."""
    # A read acknowledges nothing: with the default (explicit) policy the server would stop after 1,000
    # unacknowledged messages.
    config.ack_policy = AckPolicy.NONE
    try:
        subscription = await js.pull_subscribe("", stream=STREAM, config=config)
    except nats.js.errors.NotFoundError:
        raise _not_created() from None
    messages: list[Stored] = []
    deadline = asyncio.get_running_loop().time() + max(timeout - 1.0, timeout / 2)
    try:
        while limit is None or len(messages) < limit:
            try:
                batch = await subscription.fetch(_BATCH if limit is None else limit - len(messages), timeout=0.5)
            except nats.errors.TimeoutError:
                # Nothing more came: the end, unless the read set out for a sequence not reached yet (a cluster
                # electing a leader answers slowly), which it waits for until its deadline, as long as the
                # consumer has messages of its subjects still to deliver (`up_to` is the stream's end: when it
                # is another subject's message, as the newest probe is to a read of transitions, none are left).
                if up_to is None or not patient or (messages and messages[-1][0] >= up_to) \
                        or asyncio.get_running_loop().time() > deadline or not await _pending(subscription):
                    break
                continue
            except nats.js.errors.ServiceUnavailableError:
                # No responders to the pull: in a cluster, the consumer just made is not yet known to the server
                # this connection is on (a few reads in a hundred on a healthy cluster). It will be in a moment;
                # the stream's own answer above said JetStream is there.
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(_NOT_KNOWN_YET_WAIT)
                continue
            for message in batch:
                sequence = message.metadata.sequence.stream
                if up_to is not None and sequence > up_to:
                    return messages
                arrived = message.metadata.timestamp
                messages.append((sequence, message.data, arrived.timestamp() if arrived is not None else None))
            if batch and batch[-1].metadata.num_pending == 0:
                break
    finally:
        await subscription.unsubscribe()
    return messages


async def _pending(subscription: JetStreamContext.PullSubscription) -> bool:
    """Whether the consumer of `subscription` has messages left to deliver (True when it cannot say)."""
    try:
        info = await subscription.consumer_info()
    except (nats.errors.Error, TimeoutError):
        return True
    return info.num_pending is None or info.num_pending > 0


class StreamReader(JetStreamLogReader):
    """A reader that owns its link: closing it closes the connection."""

    def close(self) -> None:
        self.link.close()

"""The event log seam: the one interface every mode reads and writes the log through.

Probes and alert transitions are appended to a log; stats and transitions are derived from it, so any
number of readers (print-only, the alert history, later the notifier, the web page, a replay) follow it
as subscribers, each holding a `Cursor`: its place in one feed of one log.

    monitor ──append──▶ EventLog ──since / after(cursor)──▶ readers
                        (SQLite by default: store.sqlite)

Two feeds: `probes` and `transitions`; and beside them the rollups, the probes summed per site per minute
and per hour, which a backend keeps as a projection of the probes (`rollups`: a page over 90 days reads
them instead of millions of probes). A reader asks for the recent past in time order (`*_since`,
which also gives the cursor at the end of what it read, from one consistent snapshot), then for what came
after its cursor (`*_after`, in the order events were appended). A cursor names its log instance (`log`)
and the last event's time, so a reader whose log was replaced by another (a database file swapped, a
stream recreated) finds its place again by time instead of by a position that means nothing there.

How a second backend plugs in (NATS JetStream, in a later issue): implement `LogReader` (and `LogWriter`
for a process that appends) with the backend's own notion of position: a JetStream stream sequence is a
cursor's `position`, the stream's creation time its `log`; `*_since` maps to a consumer started at a time,
`*_after` to one started after a sequence. Nothing above this module knows which backend it reads:
`streams.log_follow` follows any `LogReader`, and the modes take one from `store.open_*`.

Errors: `StoreError` is a log a user pointed us at that cannot be used (one line, exit 2);
`LogUnavailable` is a log that cannot be read yet or just now (not created yet, busy, unreachable) and
is retried by followers, its message said once; `LogNotCreated`, one of them, is a log not created yet.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from monitoringapp.domain.events import AlertTransition, LastOutcomes, Probe, ProbeColumns
from monitoringapp.operators.rollup import Rollup

E = TypeVar("E", covariant=True)


class StoreError(Exception):
    """A log a user pointed us at that we cannot use; the message is one line."""


class LogLost(Exception):
    """The log a writer appends to was deleted or replaced under it: what it writes now goes nowhere anyone
    reads. The message is one line."""


class LogUnavailable(Exception):
    """A log that cannot be read at the moment (not created yet, busy, unreachable); try again later.

    `str(error)` says why in one line, or is empty for a wait too short and common to mention (a lock
    held for a few milliseconds)."""


class LogNotCreated(LogUnavailable):
    """A log that does not exist yet (no database file, no stream): everything it will hold is new. Any other
    `LogUnavailable` is a log that exists and cannot be read just now, whose history is unknown."""


class Feed(StrEnum):
    PROBES = "probes"
    TRANSITIONS = "transitions"


@dataclass(frozen=True, slots=True)
class Cursor:
    """A reader's place in a feed: after the event at `position` of log instance `log`, stamped `time`.

    SQLite: `position` is the row's id (an INTEGER PRIMARY KEY that a VACUUM never renumbers), `log` a
    random id the database gets at creation. `time` is the event's timestamp (None before any event).
    """

    log: str
    position: int
    time: float | None = None


BEGINNING = Cursor("", 0, None)
"""Before the first event of any log."""


def is_after(cursor: Cursor, place: Cursor) -> bool:
    """Whether the event whose cursor is `cursor` lies after `place`: by position in one log, by time across
    two (a log replaced by another), and always after a place before any event."""
    if place.time is None and place.position == 0:
        return True
    if cursor.log == place.log:
        return cursor.position > place.position
    return place.time is None or (cursor.time is not None and cursor.time > place.time)


def earliest(cursors: Collection[Cursor]) -> Cursor:
    """The cursor furthest back, from which a reader reads what every one of `cursors` still needs."""
    if len({cursor.log for cursor in cursors}) <= 1:
        return min(cursors, key=lambda cursor: cursor.position)
    return min(cursors, key=lambda cursor: (-math.inf if cursor.time is None else cursor.time, cursor.position))


@dataclass(frozen=True, slots=True)
class Page(Generic[E]):
    """Events read from a feed, and the cursor after the last of them (or where the read ended)."""

    events: Sequence[E]
    cursor: Cursor


@dataclass(frozen=True, slots=True)
class Entry(Generic[E]):
    """An event read from a feed and the cursor just after it: where a reader that has handled this event,
    and everything before it, resumes (the notifier keeps one per channel)."""

    event: E
    cursor: Cursor


class LogReader(Protocol):
    """The read side of the log. Readers need no write access at all."""

    def probes_since(self, since: float | None, hosts: Collection[str] | None = None) -> Page[Probe]:
        """Probes with timestamp > `since` (all with None) in time order, of `hosts` only when given; the
        cursor is the feed's end in the same snapshot."""
        ...

    def probes_after(self, cursor: Cursor, hosts: Collection[str] | None = None) -> Page[Probe]:
        """Probes appended after `cursor`, in append order."""
        ...

    def transitions_since(self, since: float | None,
                          hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        """Transitions with timestamp >= `since` (all with None) in time order; the cursor as for probes."""
        ...

    def transitions_after(self, cursor: Cursor, hosts: Collection[str] | None = None) -> Page[AlertTransition]:
        """Transitions appended after `cursor`, in append order."""
        ...

    def transition_entries_after(self, cursor: Cursor, limit: int = 500) -> Page[Entry[AlertTransition]]:
        """At most `limit` transitions appended after `cursor`, in append order, each with the cursor just
        after it; the page's cursor is after the last row read (a row of a kind this version does not know
        is passed over, not returned)."""
        ...

    def transitions_end(self) -> Cursor:
        """The cursor at the end of the transitions feed now: where a reader that wants no history starts."""
        ...

    def latest_probe_time(self) -> float | None:
        """The newest stored probe's timestamp, None before any: how far the log reaches."""
        ...

    def last_stored_probe_time(self) -> float | None:
        """The timestamp of the probe stored last (in the log's order, whatever its time), None before any:
        whether a monitor is still storing, also after its clock stepped back (`operators.store_silence`)."""
        ...

    def first_probe_time_after(self, moment: float) -> float | None:
        """The earliest stored probe's timestamp after `moment`, None if there is none: when probing resumed after
        a gap that began at `moment`. A narrow read, whatever the log's length."""
        ...

    def last_transitions(self, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
        """Each site's latest alert or recovery (other kinds are not alert state): what a restart resumes."""
        ...

    def last_outcomes(self, before: float, hosts: Collection[str] | None = None) -> dict[str, LastOutcomes]:
        """Each site's last success and last failure stored with timestamp <= `before` (of `hosts` only, when
        given), and the first failure after that success: where the "down for" and "last fail" of windows that
        hold the probes after `before` start from. A narrow read, bounded whatever the log's length (a site
        that never failed costs no scan of its whole past); what a backend cannot answer exactly says so in
        its own docstring. Sites with no probe up to `before` are left out."""
        ...

    def sites(self) -> frozenset[str]:
        """Every site the log holds a probe or a transition of (how `--site` finds a site's stored spelling)."""
        ...

    def schema_version(self) -> int:
        ...

    def close(self) -> None:
        ...


class HistoryReader(LogReader, Protocol):
    """What the web page reads beside the feeds: rollups over long ranges and one site's probes over a range.
    The SQLite log keeps both; on JetStream the page reads an evaluator's SQLite projection."""

    def rollups(self, since: float, until: float, step: float, hosts: Collection[str] | None = None, *,
                detail: bool = False) -> Page[Rollup]:
        """The probes in [since, until) summed per site into buckets of `step` seconds (whole minutes; from
        hourly rollups when `step` is whole hours), in (site, time) order; only sums unless `detail` (then
        also the response-time sketch and the outcomes). The cursor is the probe feed's end in the same
        snapshot: every probe up to it is counted in these rollups, none after it."""
        ...

    def probes_between(self, host: str, since: float, until: float, limit: int) -> list[Probe]:
        """One site's stored probes with since < timestamp <= until, in time order, at most `limit` (the
        earliest)."""
        ...


class ProbeArchive(LogReader, Protocol):
    """What a replay reads beside the feeds (`--replay`): the stored probes forward in time, chunk by chunk, and
    each site's alert state as of a moment. The SQLite log keeps both; a JetStream reader need not."""

    def probe_chunks(self, since: float | None, until: float | None = None, hosts: Collection[str] | None = None,
                     size: int = 20_000) -> Iterator[Sequence[Probe]]:
        """The probes with `since` <= timestamp < `until` (None: no bound) in time order (append order within a
        timestamp), of `hosts` only when given, at most `size` read at a time, each read its own snapshot;
        probes appended after the first read are not read."""
        ...

    def alert_state_at(self, moment: float, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
        """Each site's latest alert or recovery stored with timestamp < `moment`: its alert state then."""
        ...


class PastReader(LogReader, Protocol):
    """What a restarting monitor reads beside the feeds: its past, newest first, in compact chunks. The SQLite
    log keeps it; on JetStream a prober reads its own location's probes (it judges nothing, but its reports
    count its past)."""

    def probe_history(self, since: float, before: float, hosts: Collection[str] | None = None,
                      rows: int = 20_000) -> Iterator[tuple[ProbeColumns, ...]]:
        """Probes with `since` < timestamp <= `before` (of `hosts` only, when given), newest first, in chunks
        of about `rows` probes: each chunk one `ProbeColumns` per site, in time order, and older than the
        chunk before it. Lazy: each chunk is read when asked for, in a snapshot of its own, so a restart
        streams its past into its windows instead of holding it all at once."""
        ...


class LogWriter(Protocol):
    """The append side: one writer per log. Appends return at once; `close` makes them durable."""

    def append_probe(self, probe: Probe) -> None:
        ...

    def append_transition(self, transition: AlertTransition) -> None:
        ...

    def set_retention(self, seconds: float | None) -> None:
        """Keep this much probe history (None: all); the backend prunes older probes by itself."""
        ...

    def set_rollup_retention(self, seconds: float) -> None:
        """Keep this much hourly rollup history; the backend prunes older rollups by itself."""
        ...

    def close(self) -> None:
        """Flush everything appended, then release the log."""
        ...


class EventLog(LogReader, LogWriter, Protocol):
    """A log a monitor appends to and reads its own past from (a restart)."""

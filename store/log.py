"""The event log seam: the one interface every mode reads and writes the log through.

Probes and alert transitions are appended to a log; stats and transitions are derived from it, so any
number of readers (print-only, the alert history, later the notifier, the web page, a replay) follow it
as subscribers, each holding a `Cursor`: its place in one feed of one log.

    monitor ──append──▶ EventLog ──since / after(cursor)──▶ readers
                        (SQLite by default: store.sqlite)

Two feeds: `probes` and `transitions`. A reader asks for the recent past in time order (`*_since`,
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
is retried by followers, its message said once.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from monitoringapp.domain.events import AlertTransition, Probe, ProbeColumns

E = TypeVar("E", covariant=True)


class StoreError(Exception):
    """A log a user pointed us at that we cannot use; the message is one line."""


class LogUnavailable(Exception):
    """A log that cannot be read at the moment (not created yet, busy, unreachable); try again later.

    `str(error)` says why in one line, or is empty for a wait too short and common to mention (a lock
    held for a few milliseconds)."""


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


@dataclass(frozen=True, slots=True)
class Page(Generic[E]):
    """Events read from a feed, and the cursor after the last of them (or where the read ended)."""

    events: Sequence[E]
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

    def last_transitions(self, hosts: Collection[str] | None = None) -> dict[str, AlertTransition]:
        """Each site's latest alert or recovery (other kinds are not alert state): what a restart resumes."""
        ...

    def probe_history(self, since: float, before: float, hosts: Collection[str] | None = None,
                      rows: int = 20_000) -> Iterator[tuple[ProbeColumns, ...]]:
        """Probes with `since` < timestamp <= `before` (of `hosts` only, when given), newest first, in chunks
        of about `rows` probes: each chunk one `ProbeColumns` per site, in time order, and older than the
        chunk before it. Lazy: each chunk is read when asked for, in a snapshot of its own, so a restart
        streams its past into its windows instead of holding it all at once."""
        ...

    def schema_version(self) -> int:
        ...

    def close(self) -> None:
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

    def close(self) -> None:
        """Flush everything appended, then release the log."""
        ...


class EventLog(LogReader, LogWriter, Protocol):
    """A log a monitor appends to and reads its own past from (a restart)."""

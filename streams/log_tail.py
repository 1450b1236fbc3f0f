"""A reader's place in the log: the history once, then what was appended after its cursor (no reactivex here:
`streams.log_follow` polls it).

Works on any `LogReader` through two reads: `since` (the history, in time order, and the cursor at its
end) and `after` (what came after a cursor). A log that cannot be read yet (`LogUnavailable`) is tried
again at the next poll, each distinct reason said once while it lasts (again after a read in between); a log that
cannot be used (`StoreError`) ends it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from monitoringapp.store.log import Cursor, LogUnavailable, Page

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class LogNews(Generic[E]):
    """What one poll found: the `history` (the first news, even when empty), or the events appended since
    the last poll; or, with no events, why the log cannot be read yet (`waiting`). `latest` is the time of
    the last event appended to the feed, of any site (how fresh the log is, even when the history
    asked for is empty), None when unknown or the feed is empty."""

    events: tuple[E, ...]
    history: bool = False
    waiting: str | None = None
    latest: float | None = None


class UnavailableReasons:
    """Why a log could not be read, each distinct reason told once while it cannot be: a retry that fails the same
    way says nothing new, and an empty reason (a lock held for a few milliseconds) is never told. Once the log has
    been read (`read`), a failure is a new outage and told again: a reader that said NATS unreachable on Monday
    said nothing of Friday's outage, whose cause was the same."""

    def __init__(self) -> None:
        self._said: set[str] = set()

    def news(self, unavailable: LogUnavailable) -> str | None:
        """The reason to tell now, or None."""
        reason = str(unavailable)
        if not reason or reason in self._said:
            return None
        self._said.add(reason)
        return reason

    def read(self) -> None:
        """The log was read: what fails next is told again."""
        self._said.clear()


class LogTail(Generic[E]):
    """One reader's cursor in one feed; `poll` from one thread at a time, `close` from any."""

    def __init__(self, since: Callable[[], Page[E]], after: Callable[[Cursor], Page[E]],
                 close: Callable[[], None] = lambda: None) -> None:
        self._since = since
        self._after = after
        self._close = close
        self.cursor: Cursor | None = None  # None until the history has been read
        self.unavailable: str | None = None  # why the last poll could not read the log ("" unsaid); None if it did
        self._reasons = UnavailableReasons()
        self._closed = False
        self._lock = threading.Lock()

    def poll(self) -> LogNews[E] | None:
        """The news since the last poll, or None when there is none."""
        with self._lock:
            if self._closed:
                return None
            history = self.cursor is None
            try:
                page = self._since() if self.cursor is None else self._after(self.cursor)
            except LogUnavailable as unavailable:
                self.unavailable = str(unavailable)
                reason = self._reasons.news(unavailable)
                return None if reason is None else LogNews((), waiting=reason)
            self.unavailable = None
            self._reasons.read()
            self.cursor = page.cursor
            if history or page.events:
                return LogNews(tuple(page.events), history=history, latest=page.cursor.time)
            return None

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._close()

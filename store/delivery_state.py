"""The notifier's own state: per channel, where it is in the log and how its last attempt went.

Kept in a file of its own (`--state`), never in the monitor's database, which has one writer and readers
that need no write access. A channel's cursor moves after a delivery, and (every few seconds at most) over
entries not for it once everything it wanted before them is delivered, so a notifier killed at any moment
repeats at most the message that was in flight, with the same ids, and a restart does not read again what
a channel passed over. No secret is ever written here: channels are keyed by name, and errors arrive redacted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from monitoringapp.store.log import Cursor


@dataclass(frozen=True, slots=True)
class ChannelProgress:
    """Where channel `channel` is: after `cursor` (its last delivery, or where it started), the id of the
    last notice it delivered, the failed attempts in a row since it last delivered and the last error."""

    channel: str
    cursor: Cursor
    last_id: str | None = None
    attempts: int = 0
    last_error: str | None = None
    delivered_at: float | None = None


class DeliveryState(Protocol):
    """Durable per-channel progress; every write is committed before it returns."""

    def progress(self) -> dict[str, ChannelProgress]:
        """Every channel ever recorded, by name."""
        ...

    def started(self, channel: str, cursor: Cursor) -> None:
        """A channel seen for the first time starts at `cursor` (the end of the log)."""
        ...

    def delivered(self, channel: str, cursor: Cursor | None, last_id: str, at: float) -> None:
        """A message was delivered; its last logged notice's `cursor` (None: no logged notice in it)."""
        ...

    def passed(self, channel: str, cursor: Cursor) -> None:
        """The channel's place moves to `cursor` over entries that were not for it (its last delivery stays)."""
        ...

    def failed(self, channel: str, attempts: int, error: str) -> None:
        ...

    def flag(self, key: str) -> str | None:
        """A small fact the notifier keeps across restarts (e.g. the monitor-stale it announced)."""
        ...

    def set_flag(self, key: str, value: str | None) -> None:
        ...

    def close(self) -> None:
        ...

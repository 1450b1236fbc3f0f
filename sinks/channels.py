"""Where notices go: our JSON webhook for http and https URLs, apprise for every other scheme.

A channel's `send` delivers one message or raises `DeliveryFailed` (one line; the caller redacts it);
it is called from one worker thread at a time. apprise is imported only when a channel needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitoringapp.domain.notices import Notice


class DeliveryFailed(Exception):
    """A message not delivered this time (retried later); the message is one line."""


class Channel(Protocol):
    def send(self, notices: Sequence[Notice]) -> None:
        ...

    def close(self) -> None:
        ...


def open_channel(url: str, webhook: bool, timeout: float = 10.0) -> Channel:
    """The channel for the expanded `url`: our webhook, or apprise (ValueError if apprise does not know it)."""
    if webhook:
        from monitoringapp.sinks.webhook import WebhookChannel

        return WebhookChannel(url, timeout)
    from monitoringapp.sinks.apprise_channel import AppriseChannel

    return AppriseChannel(url)  # each apprise service has its own timeouts

"""Every scheme that is not http or https, through apprise (Slack, Discord, Teams, Telegram, e-mail, ntfy, ...).

Imported only when such a channel is configured. apprise's own log is captured, never printed: its lines may
hold a URL's secrets; the reason of a failure is taken from it and redacted by the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from monitoringapp.domain.notices import Notice
from monitoringapp.sinks.channels import DeliveryFailed
from monitoringapp.sinks.notice_text import message_body, message_title


def _apprise() -> Any:
    import apprise  # type: ignore[import-untyped,unused-ignore]

    # Without a handler of its own, apprise's warnings would reach Python's last-resort handler (stderr).
    logger = logging.getLogger("apprise")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return apprise


class AppriseChannel:
    """One apprise URL; ValueError if apprise does not understand it."""

    def __init__(self, url: str) -> None:
        self._module = _apprise()
        self._apprise = self._module.Apprise()
        if not self._apprise.add(url):
            raise ValueError("apprise does not understand this URL (see apprise's list of services)")

    def send(self, notices: Sequence[Notice]) -> None:
        with self._module.LogCapture(level=logging.WARNING) as captured:
            try:
                delivered = self._apprise.notify(body=message_body(notices), title=message_title(notices))
            except Exception as error:  # a service's plugin that raises: this message failed, not the notifier
                raise DeliveryFailed(f"apprise: {type(error).__name__}") from None
        if not delivered:
            lines = [line.split(" - ", 2)[-1] for line in captured.getvalue().splitlines() if line.strip()]
            raise DeliveryFailed(lines[-1] if lines else "apprise could not deliver")

    def close(self) -> None:
        self._apprise.clear()

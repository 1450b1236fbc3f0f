"""Every scheme that is not http or https, through apprise (Slack, Discord, Teams, Telegram, e-mail, ntfy, ...).

Imported only when such a channel is configured. apprise's own log is captured, never printed: its lines may
hold a URL's secrets; the reason of a failure is taken from it and redacted by the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from monitoringapp.domain.notices import Notice
from monitoringapp.sinks.channels import DeliveryFailed
from monitoringapp.sinks.notice_text import message_body, message_title

# The warnings of the send going on in this context. Each channel sends on a worker of its own and apprise logs
# them all to one logger, from the calling thread or from its pool (which runs a call in a copy of the caller's
# context): kept per context, a failure says its own reason, never another channel's.
_SEND_WARNINGS: ContextVar[list[str] | None] = ContextVar("monitoringapp_apprise_warnings", default=None)


class _SendWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        lines = _SEND_WARNINGS.get()
        if lines is not None:
            lines.append(record.getMessage())


def _apprise() -> Any:
    import apprise  # type: ignore[import-untyped,unused-ignore]

    # Only ours: without a handler, apprise's warnings would reach Python's last-resort handler (stderr).
    logger = logging.getLogger("apprise")
    if not any(isinstance(handler, _SendWarnings) for handler in logger.handlers):
        logger.addHandler(_SendWarnings())
    logger.propagate = False
    if logger.getEffectiveLevel() > logging.WARNING:  # its warnings say why a message failed
        logger.setLevel(logging.WARNING)
    return apprise


def shown_by_apprise(url: str) -> str | None:
    """`url` as apprise's privacy mode shows it (`tgram://1...N/987654/?...`: each token as its first and last
    characters, a password as `****`); None where apprise is not installed or cannot read it."""
    try:
        module = _apprise()
    except ImportError:
        return None
    service = module.Apprise.instantiate(url, suppress_exceptions=True)
    return None if service is None else str(service.url(privacy=True))


class AppriseChannel:
    """One apprise URL; ValueError if apprise does not understand it."""

    def __init__(self, url: str) -> None:
        self._module = _apprise()
        self._apprise = self._module.Apprise()
        if not self._apprise.add(url):
            raise ValueError("apprise does not understand this URL (see apprise's list of services)")

    def send(self, notices: Sequence[Notice]) -> None:
        warnings: list[str] = []
        capturing = _SEND_WARNINGS.set(warnings)
        try:
            # Said to be text: left unsaid, apprise took it for HTML, so a mail ran its lines into one paragraph
            # and read a detail's "<html>" as markup; as text, a mail is plain and each service escapes as it must.
            delivered = self._apprise.notify(body=message_body(notices), title=message_title(notices),
                                             body_format=self._module.NotifyFormat.TEXT)
        except Exception as error:  # a service's plugin that raises: this message failed, not the notifier
            raise DeliveryFailed(f"apprise: {type(error).__name__}") from None
        finally:
            _SEND_WARNINGS.reset(capturing)
        if not delivered:
            lines = [line.strip() for line in warnings if line.strip()]
            raise DeliveryFailed(lines[-1].splitlines()[-1] if lines else "apprise could not deliver")

    def close(self) -> None:
        self._apprise.clear()

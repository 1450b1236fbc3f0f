"""Every scheme that is not http or https, through apprise (Slack, Discord, Teams, Telegram, e-mail, ntfy, ...).

Imported only when such a channel is configured. apprise's own log is captured, never printed: its lines may
hold a URL's secrets; the reason of a failure is taken from it and redacted by the caller.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from monitoringapp.domain.notices import Notice
from monitoringapp.sinks.channels import DeliveryFailed
from monitoringapp.sinks.notice_text import message_body, message_title

# The warnings of the send going on in this context. Each channel sends on a worker of its own and apprise logs
# them all to one logger, from the calling thread or from its pool (which runs a call in a copy of the caller's
# context): kept per context, a failure says its own reason, never another channel's.
# Each as [warning] or [warning, the exception's reason].
_SEND_WARNINGS: ContextVar[list[list[str]] | None] = ContextVar("monitoringapp_apprise_warnings", default=None)


class _SendWarnings(logging.Handler):
    """A send's warnings, and the exception each is followed by: apprise says `Connection error while
    submitting email to "smtp.example.com"` as a warning, and why (a refused login, a refused connection) only
    in the `Socket Exception: ...` debug line after it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)

    def emit(self, record: logging.LogRecord) -> None:
        lines = _SEND_WARNINGS.get()
        if lines is None:
            return
        if record.levelno >= logging.WARNING:
            lines.append([record.getMessage().strip()])
        elif cause := _EXCEPTION_LINE.match(record.getMessage()):
            if lines and len(lines[-1]) == 1:
                lines[-1].append(_cause(cause[1]))
            else:  # no warning before it: the exception is the reason
                lines.append([_cause(cause[1])])


_EXCEPTION_LINE = re.compile(r"\s*\w+ Exception(?: \w+)?: (.+)", re.DOTALL)
_ERRNO = re.compile(r".*\[Errno -?\d+\] ([^'\"()]+)", re.DOTALL)  # the last one: urllib3's cause is the end
_SMTP_REPLY = re.compile(r"\((\d{3}), b?['\"](.+)['\"]\)", re.DOTALL)
_SSL_REASON = re.compile(r"(\[SSL: \w+\][^(]+)")
_ADDRESS = re.compile(r"\w[\w+.-]*://\S*|with url: \S*|<[^>]+ object at 0x[0-9a-f]+>")


def _reason(warning: str, cause: str | None = None) -> str:
    line = warning.splitlines()[-1].strip()
    return line if cause is None else f"{line.rstrip('.')}: {cause}"


def _cause(text: str) -> str:
    """An exception's text as a short reason: a socket's error, an SMTP server's reply, TLS's reason; else the
    text itself without the addresses in it (requests' errors quote the URL, whose path may be a token)."""
    if errno := _ERRNO.match(text):
        return errno[1].strip()
    if reply := _SMTP_REPLY.fullmatch(text.strip()):
        text = reply[2].replace("\\n", " ")  # the reply's lines, joined by the bytes' repr as a backslash and n
        return f"{reply[1]} {' '.join(text.split())}"
    if tls := _SSL_REASON.search(text):
        return tls[1].strip()
    shown = " ".join(_ADDRESS.sub("...", text).split())
    return shown if len(shown) <= 160 else f"{shown[:157]}..."


def _apprise() -> Any:
    import apprise  # type: ignore[import-untyped,unused-ignore]

    # Only ours: without a handler, apprise's warnings would reach Python's last-resort handler (stderr).
    logger = logging.getLogger("apprise")
    if not any(isinstance(handler, _SendWarnings) for handler in logger.handlers):
        logger.addHandler(_SendWarnings())
    logger.propagate = False
    logger.setLevel(logging.DEBUG)  # its warnings, and the exceptions after them, say why a message failed
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
        warnings: list[list[str]] = []
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
            said = [_reason(*warning) for warning in warnings if warning[0]]
            raise DeliveryFailed(said[-1] if said else "apprise could not deliver")

    def close(self) -> None:
        self._apprise.clear()

"""A real SMTP server on 127.0.0.1 (aiosmtpd) for apprise's mailto://: it accepts one user and password,
over plain SMTP (tests only), and keeps every message."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.local_http import refused_port


class MailServer:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()
        self.messages: list[EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=refused_port(), authenticator=self._check,
                                     auth_require_tls=False, ready_timeout=5.0)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def _check(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        # handled=False: aiosmtpd answers a refusal itself (535); left True, it answered nothing and the client
        # waited for its timeout, as no real server does.
        return AuthResult(success=(auth_data.login, auth_data.password) == (self.user, self.password), handled=False)

    @property
    def port(self) -> int:
        return int(self.controller.port)


@contextlib.contextmanager
def mail_server(user: str, password: str) -> Iterator[MailServer]:
    server = MailServer(user, password)
    server.controller.start()
    try:
        yield server
    finally:
        server.controller.stop()

"""What an apprise failure says: the reason in the exception apprise logs after its warning, kept short and
without the addresses an exception's text quotes."""

from __future__ import annotations

import pytest

from monitoringapp.sinks.apprise_channel import _cause


@pytest.mark.parametrize(("exception", "reason"), [
    ("HTTPConnectionPool(host='127.0.0.1', port=9): Max retries exceeded with url: /services/T1/B2/t0ken (Caused by"
     " NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f12>: Failed to establish a new"
     " connection: [Errno 111] Connection refused'))", "Connection refused"),
    ("(535, b'5.7.8 Authentication credentials invalid')", "535 5.7.8 Authentication credentials invalid"),
    ("(554, b'5.7.1 Relay access\\n denied')", "554 5.7.1 Relay access denied"),
    ("HTTPSConnectionPool(host='hooks.example.com', port=443): Max retries exceeded with url: /t0ken (Caused by"
     " SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed:"
     " self-signed certificate (_ssl.c:1006)')))",
     "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"),
    ("Invalid URL 'https://hooks.example.com/t0ken': No host supplied", "Invalid URL '... No host supplied"),
    ("HTTPConnectionPool(host='127.0.0.1', port=9): Read timed out. (read timeout=4.0)",
     "HTTPConnectionPool(host='127.0.0.1', port=9): Read timed out. (read timeout=4.0)"),
    ("x" * 300, "x" * 157 + "..."),
], ids=["refused", "smtp-login", "smtp-multiline", "tls", "url-in-text", "timeout", "long"])
def test_an_exception_is_said_as_its_reason_without_the_addresses_it_quotes(exception: str, reason: str) -> None:
    assert _cause(exception) == reason
    assert "t0ken" not in _cause(exception)

"""What a failed exchange's exception carries: urllib3 and requests wrap the error that says why (an SSL error, a
lookup given up on) two or three levels down."""

from __future__ import annotations

import collections
import http.client
from collections.abc import Sequence

import socks
import urllib3.exceptions

__all__ = ["carried_errors", "network_reason", "socks_refusal"]

# What PySocks and urllib3 raise when the connection to the proxy itself failed.
_PROXY_CONNECT_ERRORS = (socks.ProxyConnectionError, urllib3.exceptions.ProxyError)


def carried_errors(error: BaseException) -> list[BaseException]:
    """`error` and every exception it carries (causes, contexts, exception arguments, a `reason`), breadth first,
    each once, at most 50. A failed probe's classification reads it several times: found once and handed on
    (`carried=`), since walking it was a tenth of a refused connection's probe."""
    seen: list[BaseException] = []
    known: set[int] = set()  # ids of `seen`, which keeps them alive
    waiting: collections.deque[BaseException] = collections.deque((error,))
    while waiting and len(seen) < 50:
        current = waiting.popleft()
        if id(current) in known:
            continue
        known.add(id(current))
        seen.append(current)
        for carried in (current.__cause__, current.__context__, *getattr(current, "args", ()),
                        getattr(current, "reason", None)):
            if isinstance(carried, BaseException):
                waiting.append(carried)
    return seen


def socks_refusal(error: BaseException, carried: Sequence[BaseException] | None = None) -> str | None:
    """What a SOCKS proxy answered when it would not connect the probe (`SOCKS proxy: 0x05: Connection refused`, a
    login it refused), if that is why `error` failed; None for a socket's failure (told as it is without a proxy)."""
    for cause in carried if carried is not None else carried_errors(error):
        if isinstance(cause, socks.ProxyError) and cause.socket_err is None:
            return f"SOCKS proxy: {cause.msg}"
    return None


def network_reason(error: BaseException, carried: Sequence[BaseException] | None = None) -> str | None:
    """Why a connection or a lookup failed, in the system's or the HTTP exchange's fixed words (`Connection refused`,
    `No route to host`, `Name or service not known`, `Remote end closed connection without response`; to a proxy,
    `proxy: Connection refused`); None where
    only a message is known, since the messages of urllib3 and requests quote the URL, and a URL a password."""
    chain = carried if carried is not None else carried_errors(error)
    # A connection to the proxy that failed is said as the proxy's (`proxy: Connection refused`), not as the site's.
    proxy = "proxy: " if any(isinstance(cause, _PROXY_CONNECT_ERRORS) for cause in chain) else ""
    for cause in chain:
        if isinstance(cause, OSError) and cause.errno is not None and isinstance(cause.strerror, str):
            return proxy + cause.strerror
    for cause in chain:
        if isinstance(cause, http.client.RemoteDisconnected):  # before BadStatusLine, which it is too
            return "Remote end closed connection without response"
        if isinstance(cause, http.client.IncompleteRead):
            return "the answer ended before its body did"
        if isinstance(cause, http.client.BadStatusLine | http.client.LineTooLong):
            return "the answer is not HTTP (its status line or a header line cannot be read)"
    return None

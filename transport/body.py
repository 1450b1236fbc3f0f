"""An answer's body read within a deadline and a size bound: what the probes read (and keep when their conditions read
it) and what the webhook drains to keep its connection. urllib3's timeout bounds each socket read only, so a body
trickled a byte at a time would hold its reader for as long as it trickles; here the deadline bounds them all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
import urllib3

__all__ = ["BodyTimeout", "UndecodableBody", "read_body"]

_CHUNK = 16 * 1024
_TIMEOUT_SLACK = 0.005
"""How far past the deadline a read's socket timeout may end before it is set again (seconds)."""


class BodyTimeout(requests.Timeout):
    """The body did not end by the deadline. A `requests.Timeout`, as the probe's other timeouts are: classified
    `timeout`, and an `OSError` to those who let a body's failure pass (a redirect's)."""


class UndecodableBody(requests.exceptions.ContentDecodingError):
    """A body kept for its conditions that is not what its Content-Encoding says; the message says which encoding and
    the decompressor's words, nothing of the URL."""


def read_body(raw: urllib3.BaseHTTPResponse, deadline: float, limit: int, clock: Callable[[], float], *,
              keep: bool = False, sock: Any = None) -> tuple[bytes, bool]:
    """Read `raw`'s body by `deadline` (of `clock`), up to `limit` bytes and one more: (its first `limit` bytes if
    `keep`, else none; whether that was all of it). A body read to its end leaves the connection reusable (urllib3
    puts it back in its pool); a longer one is left unread, to be closed with the response. BodyTimeout if the
    body has not ended by the deadline. `sock` is the socket the body comes on, for a response that no longer holds
    its connection (default: the response's connection's)."""
    if sock is None:
        sock = getattr(getattr(raw, "connection", None), "sock", None)
    # Kept bytes are the body's own: decoded only if the server compressed them though asked not to (urllib3's
    # decoding path costs CPU even for a body that is not compressed).
    decode = keep and raw.headers.get("Content-Encoding", "identity").strip().lower() not in ("identity", "")
    budget = limit + 1  # one byte more than the limit tells a body of exactly the limit from a larger one
    chunks: list[bytes] = []
    # One reading of the clock per read: the one after a read says both whether it came in time and how long the
    # next may wait.
    now = clock()
    while budget > 0:
        remaining = deadline - now
        if remaining <= 0:
            raise BodyTimeout("body not received in time")
        # read1 returns what has arrived (read() would wait for the whole chunk, so a trickling body could outlive
        # the deadline), and no single wait outlasts it. Setting it is a syscall that lets go of the GIL (200 sites
        # at 1 s: about 9 % of a probe's CPU): skipped while the timeout set for the request, or for the last read,
        # ends within _TIMEOUT_SLACK of the deadline, and what came after the deadline is a timeout as it was, only
        # told up to that much later.
        if sock is not None:
            current = sock.gettimeout()
            if current is None or current > remaining + _TIMEOUT_SLACK:
                sock.settimeout(remaining)
        try:
            chunk = raw.read1(min(_CHUNK, budget), decode_content=decode)
        except urllib3.exceptions.DecodeError as error:  # its message says nothing of why; its cause does
            encoding = raw.headers.get("Content-Encoding", "").strip().lower()
            cause = error.__cause__ if error.__cause__ is not None else error
            why = str(cause).rpartition(": ")[2] or type(cause).__name__
            raise UndecodableBody(f"the body is not the {encoding} its Content-Encoding says ({why})") from error
        now = clock()
        if now > deadline:
            raise BodyTimeout("body not received in time")
        if not chunk:
            return b"".join(chunks), True
        budget -= len(chunk)
        if keep:
            chunks.append(chunk)
    # Over the limit: the rest is not downloaded; closing the response drops the connection.
    return b"".join(chunks)[:limit], False

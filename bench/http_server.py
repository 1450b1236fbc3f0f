"""The threaded HTTP server the tests' and the bench's local servers are built on."""

from __future__ import annotations

import sys
from http.server import ThreadingHTTPServer
from typing import Any


class LocalHTTPServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` with a real server's listen backlog. The standard library's is 5: a burst of new
    connections (nine sites probed at once on a loaded machine) overflows it, the kernel drops the SYNs and
    the client sends them again a whole second later (seen as `ListenOverflows` in /proc/net/netstat, and
    as a one-second stall of a probe that should take a millisecond)."""

    request_queue_size = 1024
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-answer is what many tests do on purpose (a probe cut at its deadline): not
        worth the traceback the standard library prints for it. Anything else is printed as before."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

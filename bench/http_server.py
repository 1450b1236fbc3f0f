"""The threaded HTTP server the tests' and the bench's local servers are built on."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class LocalHTTPServer(ThreadingHTTPServer):
    """`ThreadingHTTPServer` with a real server's listen backlog. The standard library's is 5: a burst of new
    connections (nine sites probed at once on a loaded machine) overflows it, the kernel drops the SYNs and
    the client sends them again a whole second later (seen as `ListenOverflows` in /proc/net/netstat, and
    as a one-second stall of a probe that should take a millisecond)."""

    request_queue_size = 1024
    daemon_threads = True

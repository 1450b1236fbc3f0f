"""A `tcp://host:port` site's probe: a connect, timed (its response time is the connect time), then closed.

Up when the connection is accepted within the timeout, unless a `maxResponseTime` says it was too slow; a
refusal is a `connection` error, no answer in time a `timeout`, a name that does not resolve `dns`, each but the
timeout with the system's reason as its detail (`Connection refused`).
"""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from monitoringapp.domain.checks import Conditions, ProbeOutcome
from monitoringapp.domain.events import ErrorKind
from monitoringapp.transport.errors import network_reason


def tcp_probe(url: str, timeout: float, conditions: Conditions) -> ProbeOutcome:
    """Connect to the host and port of `url` within `timeout` seconds; never raises for a network failure."""
    parts = urlsplit(url)
    started = time.perf_counter()
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=timeout):
            elapsed = time.perf_counter() - started
    except OSError as error:
        kind = connect_error(error)
        return ProbeOutcome(None, None, kind, None if kind is ErrorKind.TIMEOUT else network_reason(error), up=False)
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

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from monitoringapp.streams.http_probe import HttpProber
from tests.local_dns import SilentLookup
from tests.local_http import LocalServer, local_server


@pytest.fixture
def prober() -> Iterator[HttpProber]:
    """A real HTTP prober for one test, its connections closed after it."""
    client = HttpProber()
    yield client
    client.close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """The local HTTP server of tests/local_http.py for one test, shut down after it."""
    with local_server() as running:
        yield running


@pytest.fixture
def silent() -> Iterator[SilentLookup]:
    """A lookup whose DNS server does not answer (`tests.local_dns`), let go at the test's end."""
    lookup = SilentLookup()
    yield lookup
    lookup.release.set()


@pytest.fixture
def hup_default() -> Iterator[None]:
    """SIGHUP at its default disposition in this process for one test, as a terminal starts a mode (and a mode
    started from the test inherits it), whatever ran the suite; put back after it. Run under nohup, SIGHUP was
    ignored: a reader, in process or started from the test, kept it ignored and never stopped on it."""
    before = signal.getsignal(signal.SIGHUP)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGHUP, before)

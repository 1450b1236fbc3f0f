from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.http_probe import HttpProber


@pytest.fixture
def prober() -> Iterator[HttpProber]:
    """A real HTTP prober for one test, its connections closed after it."""
    client = HttpProber()
    yield client
    client.close()

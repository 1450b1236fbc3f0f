from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.local_http import LocalServer, local_server


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """The local HTTP server of tests/local_http.py for one test, shut down after it."""
    with local_server() as running:
        yield running

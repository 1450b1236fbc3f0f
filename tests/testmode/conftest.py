from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitoringapp.testmode.server import ScenarioServer


@pytest.fixture(scope="module")
def server() -> Iterator[ScenarioServer]:
    """One real scenario server on 127.0.0.1 per test module, shut down at the end."""
    running = ScenarioServer()
    running.start()
    try:
        yield running
    finally:
        running.stop()

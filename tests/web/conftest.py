from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitoringapp.web.app import WebContext
from tests.web.history import History, seeded_context, write_history
from tests.web.live import LiveWeb, live_web


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return write_history(tmp_path_factory.mktemp("web") / "m.db")


@pytest.fixture(scope="module")
def context(history: History) -> Iterator[WebContext]:
    made = seeded_context(history)
    yield made
    made.log.close()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWeb]:
    """A real monitor and a real -w on one database (started once, for the tests that ask for it)."""
    with live_web(tmp_path_factory.mktemp("live")) as running:
        yield running

from __future__ import annotations

from collections.abc import Iterator

import pytest

from monitoringapp.web.app import WebContext
from tests.web.history import History, seeded_context, write_history


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return write_history(tmp_path_factory.mktemp("web") / "m.db")


@pytest.fixture(scope="module")
def context(history: History) -> Iterator[WebContext]:
    made = seeded_context(history)
    yield made
    made.log.close()

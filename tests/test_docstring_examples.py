"""The examples in the package's docstrings run, as RxPY's own do: an example that cannot run is a defect."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import monitoringapp


def modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages(monitoringapp.__path__, "monitoringapp.")
                  if not info.name.endswith("__main__"))


def has_examples(name: str) -> bool:
    return any(test.examples for test in doctest.DocTestFinder().find(importlib.import_module(name)))


def test_the_operators_show_runnable_examples() -> None:
    assert {name for name in modules() if has_examples(name)} >= {
        "monitoringapp.operators.alerts", "monitoringapp.operators.reports", "monitoringapp.operators.typed"}


@pytest.mark.parametrize("name", modules())
def test_docstring_examples_run(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0

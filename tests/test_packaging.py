"""The Docker image builds its wheel from what the Dockerfile copies: every package pyproject ships must be there."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def shipped_packages() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["packages"]["find"]["include"]
    return {pattern.rstrip("*") for pattern in patterns}


def test_the_dockerfile_copies_and_the_dockerignore_admits_every_shipped_package() -> None:
    packages = shipped_packages()
    assert {"app", "domain", "operators", "sinks", "store", "streams", "testmode"} <= packages
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", (REPO / "Dockerfile").read_text(), re.MULTILINE))
    admitted = set(re.findall(r"^!(\w+)/$", (REPO / ".dockerignore").read_text(), re.MULTILINE))
    assert packages == copied, "Dockerfile COPY lines and pyproject's packages differ"
    assert packages == admitted, ".dockerignore and pyproject's packages differ"

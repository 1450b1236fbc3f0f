"""schemathesis against the shipped openapi.yaml: generated requests of every operation, no 500, and every
response as the description says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from monitoringapp.domain.sites import site_id
from monitoringapp.web.app import WebContext, create_app
from tests.web.history import FLAKY, UP, seeded_context, write_history

_FIXTURES: dict[str, WebContext] = {}


def _context() -> WebContext:
    # schemathesis loads the schema when this module is collected, before any fixture exists: the app it
    # calls is built here once, on a log in a directory of its own.
    if "context" not in _FIXTURES:
        import tempfile

        directory = Path(tempfile.mkdtemp(prefix="monitoringapp-openapi-"))
        _FIXTURES["context"] = seeded_context(write_history(directory / "m.db", days=2))
    return _FIXTURES["context"]


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.yaml", create_app(_context()))


@pytest.fixture(scope="module", autouse=True)
def close_log() -> Iterator[None]:
    yield
    _FIXTURES["context"].log.close()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_generated_request_gets_a_documented_answer_and_never_a_500(case: schemathesis.Case) -> None:
    # A string the schema admits may still not be a date (`since=2026-13-45`): it gets its documented 400,
    # which the positive-data check would call a rejection of valid input. Every other check runs.
    # Asked without gzip: schemathesis' WSGI client would read a compressed body as the JSON (tests/web/test_app.py
    # has what gzip changes).
    case.call_and_validate(headers={"Accept-Encoding": "identity"}, excluded_checks=[positive_data_acceptance])


def _documented(node: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """`node` with its `$ref` or `allOf` looked up in `spec`."""
    if "$ref" in node:
        return _documented(spec["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]], spec)
    if "allOf" in node:
        return _documented(node["allOf"][0], spec)
    return node


def _order_mismatches(value: object, node: dict[str, Any], spec: dict[str, Any], where: str) -> Iterator[str]:
    """Every object of `value` whose keys are not in the order the schema `node` lists its properties."""
    node = _documented(node, spec)
    if isinstance(value, dict) and "properties" in node:
        listed = list(node["properties"])
        if list(value) != [key for key in listed if key in value] or not set(value) <= set(listed):
            yield f"{where}: {list(value)} (documented: {listed})"
        for key, inner in value.items():
            if key in node["properties"]:
                yield from _order_mismatches(inner, node["properties"][key], spec, f"{where}.{key}")
    elif isinstance(value, list) and "items" in node:
        for n, item in enumerate(value):
            yield from _order_mismatches(item, node["items"], spec, f"{where}[{n}]")


@pytest.mark.parametrize("path", ["/api/v1/sites", f"/api/v1/sites/{site_id(UP)}",
                                  f"/api/v1/sites/{site_id(FLAKY)}/probes?since=1h&limit=3",
                                  f"/api/v1/sites/{site_id(FLAKY)}/rollups?since=3d&step=1d",
                                  "/api/v1/alerts?since=7d", "/api/v1/alerts?since=nonsense"])
def test_the_apis_keys_come_in_the_order_openapi_yaml_lists_them(path: str) -> None:
    spec = yaml.safe_load(resources.files("monitoringapp.web").joinpath("openapi.yaml").read_text(encoding="utf-8"))
    response = create_app(_context()).test_client().get(path)
    operation = spec["paths"][path.split("?")[0].replace(site_id(UP), "{id}").replace(site_id(FLAKY), "{id}")]
    documented = operation["get"]["responses"][str(response.status_code)]
    if "$ref" in documented:
        documented = spec["components"]["responses"][documented["$ref"].rsplit("/", 1)[1]]
    body = json.loads(response.get_data(as_text=True))  # as sent, in the order sent
    assert list(_order_mismatches(body, documented["content"]["application/json"]["schema"], spec, "body")) == []
    for site in body.get("sites", []) + ([body["site"]] if "site" in body and isinstance(body["site"], dict) else []):
        assert list(site["uptime"]) == list(site["uptimeText"]) == ["24h", "7d", "30d", "90d"], "as described"

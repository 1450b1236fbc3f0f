"""deploy/compose.yaml, the many-locations topology as containers: valid Compose, and every service's command one
that monitoringApp's own command line accepts, wired to each other (no engine needed)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitoringapp.app.options import EvaluatorOptions, MonitorOptions, WebOptions, parse_command_line
from monitoringapp.streams.config_file import read_config

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "deploy" / "compose.yaml"
NOW = 1_790_000_000.0


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return dict(loaded["services"])


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    checker = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert checker is not None, "check-jsonschema missing: it is a dev dependency (pip install -e '.[dev]')"
    checked = subprocess.run([checker, "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _options(services: dict[str, Any], kind: type) -> dict[str, Any]:
    parsed = {name: parse_command_line(service["command"], NOW) for name, service in services.items()
              if service.get("image", "").startswith("monitoringapp")}
    return {name: options for name, options in parsed.items() if isinstance(options, kind)}


def test_two_probers_in_two_locations_publish_to_every_node_of_the_cluster(services: dict[str, Any]) -> None:
    nodes = sorted(name for name, service in services.items() if service["image"].startswith("nats:"))
    probers = _options(services, MonitorOptions)
    assert len(nodes) == 3 and len(probers) == 2
    assert len({prober.location for prober in probers.values()}) == 2
    for prober in probers.values():
        assert sorted(prober.nats) == [f"nats://{node}:4222" for node in nodes]
        assert prober.replicas == 3
        assert prober.spool is not None and prober.spool.startswith("/data/")
    for node in nodes:  # each node routes to the other two
        routes = services[node]["command"][services[node]["command"].index("--routes") + 1].split(",")
        assert sorted(routes) == [f"nats://{other}:6222" for other in nodes if other != node]


def test_two_evaluators_each_keep_a_projection_and_the_page_reads_one(services: dict[str, Any]) -> None:
    evaluators = _options(services, EvaluatorOptions)
    assert len(evaluators) == 2
    assert all(evaluator.partition == (0, 1) for evaluator in evaluators.values())  # both judge every site
    volumes = {name: {mount.split(":")[1]: mount.split(":")[0] for mount in services[name]["volumes"]}
               for name in services if "volumes" in services[name]}
    projections = {(volumes[name]["/data"], evaluator.database) for name, evaluator in evaluators.items()}
    assert len(projections) == 2  # each its own file
    [(web_name, page)] = _options(services, WebOptions).items()
    assert (volumes[web_name]["/data"], page.database) in projections


def test_the_deployed_config_asks_a_quorum_the_locations_can_reach(services: dict[str, Any]) -> None:
    config = read_config(ROOT / "deploy" / "config.json")
    assert 1 < config.quorum <= len(_options(services, MonitorOptions))

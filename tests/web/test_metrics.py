"""/metrics as Prometheus sees it: `promtool check metrics` accepts it, and a real Prometheus scrapes it."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from bench.processes import App, wait_until
from tests.local_http import refused_port
from tests.web.live import LiveWeb

pytestmark = pytest.mark.slow


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed: apt-get install -y prometheus (CI's .ci/run installs it)")
    return found


def test_promtool_accepts_the_exposition(live: LiveWeb) -> None:
    promtool = tool("promtool")
    def with_a_probe() -> bytes | None:
        body = live.get("/metrics")
        return body if b"monitoringapp_probe_success{" in body else None

    text = wait_until(with_a_probe, 10, "a probe in /metrics")
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=30)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == b"" and checked.stderr == b"", "no lint problem either"


def test_a_real_prometheus_scrapes_every_site(live: LiveWeb, tmp_path: Path) -> None:
    prometheus = tool("prometheus")
    port = refused_port()
    target = live.url.removeprefix("http://")
    (tmp_path / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs: [{{job_name: monitoringapp, static_configs: [{{targets: ['{target}']}}]}}]\n")
    server = App.command([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                          f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"])

    def query(expression: str) -> list[dict[str, object]]:
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return list(json.load(response)["data"]["result"])
        except OSError:
            return []

    try:
        found = wait_until(lambda: query("monitoringapp_probe_success"), 30, "Prometheus to scrape /metrics",
                           step=0.5, alive=server)
        assert {sample["metric"]["site"] for sample in found} == {live.key(role) for role in live.sites}  # type: ignore[index]
        up = wait_until(lambda: query('up{job="monitoringapp"} == 1'), 10, "the target up", step=0.5)
        assert len(up) == 1
        assert query('monitoringapp_availability_ratio{window="1h"}')
    finally:
        server.stop()

"""Capacity runs: the real monitor (and, when installed, Prometheus + blackbox_exporter) probing N local URLs.

Each run starts the prober as a subprocess against the target server, lets it
warm up, then measures a steady-state window: probes served by the target in
the window, CPU seconds of the prober's process tree in the window, and its
peak resident memory (VmHWM, the whole life of the process) just before it is
stopped. The monitor also reports its own clock figures (ticks, skipped ticks,
tick lateness) through `--metrics`, and the rows it stored are counted.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.processes import check_monitor_exit, stop_process
from bench.procstat import peak_rss_mb, tree_cpu_seconds
from bench.target_server import TargetServer, free_port

REPO = Path(__file__).resolve().parent.parent
Figures = dict[str, Any]


def measure_window(server: TargetServer, pids: Callable[[], list[int]], warmup: float,
                    seconds: float, also: TargetServer | None = None) -> Figures:
    """CPU, probes served (by `server`, and `also` when given) and peak RSS of `pids` over `seconds`."""
    servers = [server] if also is None else [server, also]
    time.sleep(warmup)
    cpu0, served0, t0 = tree_cpu_seconds(pids()), sum(s.served() for s in servers), time.monotonic()
    time.sleep(seconds)
    cpu1, served1, t1 = tree_cpu_seconds(pids()), sum(s.served() for s in servers), time.monotonic()
    probes = served1 - served0
    cpu = cpu1 - cpu0
    return {
        "window_s": round(t1 - t0, 3),
        "probes": probes,
        "probes_per_s": round(probes / (t1 - t0), 1),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_probe": round(cpu * 1000 / probes, 4) if probes > 0 else None,
        "cores": round(cpu / (t1 - t0), 3),
        "peak_rss_mb": round(sum(peak_rss_mb(pid) for pid in pids()), 1),
    }


def write_config(path: Path, urls: list[str], interval: float) -> None:
    path.write_text(json.dumps({"websites": [{"URL": url} for url in urls], "defaultCheckInterval": interval}))


def run_monitor(server: TargetServer, sites: int, interval: float, warmup: float, seconds: float,
                base: int = 0, far: tuple[TargetServer, int] | None = None) -> Figures:
    """One run of `./monitoringApp.py -m --silent --metrics` over `sites` distinct URLs, and over `far`'s
    count of URLs on its server too when given (a mix of near and far sites)."""
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as scratch:
        work = Path(scratch)
        config, db, metrics = work / "config.json", work / "monitoring.db", work / "metrics.json"
        urls = [server.url(base + i) for i in range(sites)]
        if far is not None:
            urls += [far[0].url(i) for i in range(far[1])]
        write_config(config, urls, interval)
        command = [sys.executable, str(REPO / "monitoringApp.py"), "-m", "--silent", "--metrics", str(metrics),
                   "-c", str(config), "-db", str(db)]
        process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE)
        try:
            figures = measure_window(server, lambda: [process.pid], warmup, seconds,
                                     also=None if far is None else far[0])
        finally:
            stop_process(process, 20.0)
        check_monitor_exit(process)
        clock = json.loads(metrics.read_text())
        with sqlite3.connect(db) as connection:
            stored = connection.execute("SELECT count(*) FROM website_monitoring").fetchone()[0]
            times = [row[0] for row in connection.execute(
                "SELECT responseTime FROM website_monitoring WHERE responseTime IS NOT NULL ORDER BY responseTime")]
        figures.update(ticks=clock["ticks"], skipped=clock["skipped"], rows_written=clock["rows_written"],
                       probes_stored=stored, lateness_ms=clock["lateness_ms"],
                       lateness_after_first_ticks_ms=clock["lateness_after_first_ticks_ms"],
                       response_ms_p50=round(times[len(times) // 2], 3) if times else None)
        return figures


_BLACKBOX_CONF = """
modules:
  http_2xx:
    prober: http
    timeout: {timeout}
    http:
      method: GET
      preferred_ip_protocol: ip4
"""

_PROMETHEUS_CONF = """
global:
  scrape_interval: {interval}
  scrape_timeout: {timeout}
  evaluation_interval: 60s
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params:
      module: [http_2xx]
    static_configs:
      - targets: {targets}
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:{exporter_port}
"""


def peer_commands() -> tuple[str, str] | None:
    """Paths of `prometheus` and `prometheus-blackbox-exporter`, when both are installed."""
    prometheus = shutil.which("prometheus")
    exporter = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
    return (prometheus, exporter) if prometheus and exporter else None


def run_peer(server: TargetServer, sites: int, interval: float, warmup: float, seconds: float,
             base: int = 0) -> Figures:
    """One run of Prometheus scraping blackbox_exporter's http_2xx probe of the same `sites` URLs."""
    commands = peer_commands()
    if commands is None:
        raise RuntimeError("prometheus and prometheus-blackbox-exporter are not installed")
    prometheus, exporter = commands
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as scratch:
        work = Path(scratch)
        exporter_port, prometheus_port = free_port(), free_port()
        # Prometheus durations are integers with a unit.
        timeout = f"{round(min(interval, 10.0) * 1000)}ms"
        (work / "blackbox.yml").write_text(_BLACKBOX_CONF.format(timeout=timeout))
        targets = json.dumps([server.url(base + i) for i in range(sites)])
        (work / "prometheus.yml").write_text(_PROMETHEUS_CONF.format(
            interval=f"{round(interval * 1000)}ms", timeout=timeout, targets=targets, exporter_port=exporter_port))
        logs = [work / "blackbox.log", work / "prometheus.log"]
        commands_ = [
            [exporter, f"--config.file={work / 'blackbox.yml'}", f"--web.listen-address=127.0.0.1:{exporter_port}"],
            [prometheus, f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'data'}",
             f"--web.listen-address=127.0.0.1:{prometheus_port}"],
        ]
        processes = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
                     for command, log in zip(commands_, logs, strict=True)]
        try:
            return measure_window(server, lambda: [p.pid for p in processes], warmup, seconds)
        except OSError as error:
            tails = "; ".join(log.read_text()[-300:] for log in logs)
            raise RuntimeError(f"the peer stopped early ({error}): {tails}") from None
        finally:
            for process in processes:
                stop_process(process, 20.0)

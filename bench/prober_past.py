"""A prober's restart (`-m --nats`) against a real local nats-server: how long its start waits for its past, and
how long its longest report window (an hour) takes to reach its reports.

An hour of SITES sites probed every second is published to the stream by one location; then, interleaved run by
run, the prober's own way (`load_past(..., judges=False)`: nothing read before the clocks start, the whole hour
in the background) and a judging monitor's (`judges=True`: the alert window, 120 s, read before the clocks
start, the rest in the background). The background read is `probe_history`, chunk by chunk, as the report
windows take it.

Run from the repo root: `.venv/bin/python -m bench.prober_past [sites] [runs]` (default 10 sites, 3 runs;
medians). Nothing leaves 127.0.0.1. The machine may be shared: the figures say what these runs measured.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.nats_servers import NatsCluster
from monitoringapp.domain.config import AlertPolicy, Config, ReportSpec, SiteConfig
from monitoringapp.domain.events import Probe
from monitoringapp.graph.monitor import load_past
from monitoringapp.store.jetstream import open_prober_log, open_prober_past
from monitoringapp.store.log import PastReader

HOUR = 3600


def _restart(reader: PastReader, config: Config, *, judges: bool) -> tuple[float, float, int]:
    """(seconds the start waited, seconds until the whole window was read, probes read in all)."""
    began = time.monotonic()
    past = load_past(reader, config, time.time(), judges=judges)
    waited = time.monotonic() - began
    earlier = past.earlier
    read = 0
    if earlier is not None:
        for chunk in reader.probe_history(earlier.since, earlier.before, earlier.hosts):
            read += sum(len(site) for site in chunk)
    return waited, time.monotonic() - began, len(past.probes) + read


def main() -> None:
    sites = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    urls = [f"http://site{n}.test/" for n in range(sites)]
    config = Config(sites=tuple(SiteConfig(url, 1, 1) for url in urls), alert=AlertPolicy(window=120),
                    reports=(ReportSpec(10, (120, 600)), ReportSpec(60, (HOUR,))))
    with NatsCluster(1) as cluster, tempfile.TemporaryDirectory() as directory:
        writer = open_prober_log(cluster.urls, "eu", Path(directory) / "spool.db", capacity=10 * HOUR * sites)
        now = time.time()
        for second in range(HOUR, 0, -1):
            for url in urls:
                writer.append_probe(Probe(now - second, url, second % 7 != 0, 200, 1.0, location="eu"))
        if not writer.flush(600.0):
            raise RuntimeError("the hour was not published")
        reader = open_prober_past(writer, "eu")
        figures: dict[bool, list[tuple[float, float, int]]] = {False: [], True: []}
        try:
            for _ in range(runs):
                for judges in (False, True):  # interleaved: the same machine load for both
                    figures[judges].append(_restart(reader, config, judges=judges))
        finally:
            writer.close()
    for judges, label in ((False, "prober (nothing before the clocks)"), (True, "alert window first (as -m)")):
        waited, total, read = (statistics.median(run[n] for run in figures[judges]) for n in range(3))
        print(f"{sites} sites, an hour at 1 s, {label}: start waited {waited:.2f} s; the hour ({read:,.0f} probes) "
              f"read after {total:.1f} s (median of {runs})")


if __name__ == "__main__":
    main()

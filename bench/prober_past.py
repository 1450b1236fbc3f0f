"""A prober's restart (`-m --nats`) against a real local nats-server: how long its start waits for its past, and
how long its longest report window (an hour) takes to reach its reports.

An hour of SITES sites probed every second is published to the stream by one location; then, interleaved run by
run, the prober's own way (`load_past(..., judges=False)`: nothing read before the clocks start, the whole hour
in the background) and a judging monitor's (`judges=True`: the alert window, 120 s, read before the clocks
start, the rest in the background). The background read is `probe_history`, chunk by chunk, as the report
windows take it.

Run from the repo root: `.venv/bin/python -m bench.prober_past [sites] [runs]` (default 10 sites, 3 runs;
medians). Nothing leaves 127.0.0.1. The machine may be shared: the figures say what these runs measured.

`.venv/bin/python -m bench.prober_past start-bound [sites] [runs]` (default 10 sites, 5 runs): a read by time
(`probes_since`, and a prober's `probe_history`) of the last 10 minutes and of the last hour on a stream that
holds, besides them, the quarter-hour of probes before, as a live one does; started 900 s before `since` (the
spool's slack, as before CLOCK_SKEW) and CLOCK_SKEW before it, interleaved. The server stamps arrivals with its
own clock, which a bench cannot set: the stream is made to hold what a live one holds about the two start bounds,
the probes taken before the skew's minute arriving first and the rest two seconds later, and `since` is put
between them as the bounds see them (the probes after it then bear times ahead of their arrival, which no
read looks at).
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.nats_servers import NatsCluster
from bench.processes import wait_until
from monitoringapp.domain.config import AlertPolicy, Config, ReportSpec, SiteConfig
from monitoringapp.domain.events import Probe
from monitoringapp.graph.monitor import load_past
from monitoringapp.store.jetstream import open_prober_log, open_prober_past
from monitoringapp.store.jetstream.reader import ARRIVAL_SLACK, CLOCK_SKEW, JetStreamLogReader
from monitoringapp.store.log import BEGINNING, PastReader

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


def _read_since(reader: JetStreamLogReader, since: float, window: float) -> tuple[float, float, int, int]:
    """(seconds `probes_since` took, seconds `probe_history` took, probes found, messages `probes_since` scanned)."""
    scanned = reader.scanned
    began = time.perf_counter()
    found = len(reader.probes_since(since).events)
    since_took, scanned = time.perf_counter() - began, reader.scanned - scanned
    began = time.perf_counter()
    history = sum(len(site) for chunk in reader.probe_history(since, since + window) for site in chunk)
    if history != found:
        raise RuntimeError(f"probe_history found {history} probes, probes_since {found}")
    return since_took, time.perf_counter() - began, found, scanned


def _start_bound_of(urls: list[str], window: float, runs: int) -> dict[str, list[tuple[float, float, int, int]]]:
    with NatsCluster(1) as cluster, tempfile.TemporaryDirectory() as directory:
        writer = open_prober_log(cluster.urls, "eu", Path(directory) / "spool.db", capacity=10 * HOUR * len(urls))
        now = time.time()
        for second in range(int(ARRIVAL_SLACK), int(CLOCK_SKEW), -1):  # the quarter-hour before the skew's minute
            for url in urls:
                writer.append_probe(Probe(now - second, url, True, 200, 1.0, location="eu"))
        if not writer.flush(600.0):
            raise RuntimeError("the quarter-hour was not published")
        arrived = open_prober_past(writer, "eu").probes_after(BEGINNING).cursor.time
        assert arrived is not None
        wait_until(lambda: time.time() > arrived + 2.0, 5, "the server's clock two seconds on")
        # The quarter-hour arrived before since - CLOCK_SKEW, the rest will after it; a whole second, so that the
        # probes' times (kept to the millisecond) fall where they are meant to.
        since = float(math.ceil(arrived + CLOCK_SKEW + 0.5))
        for second in range(-int(CLOCK_SKEW), int(window) + 1):  # the skew's minute and the window
            for url in urls:
                writer.append_probe(Probe(since + second, url, True, 200, 1.0, location="eu"))
        if not writer.flush(600.0):
            raise RuntimeError("the window was not published")
        bounds = {"900 s before (the spool's slack)": JetStreamLogReader(writer.link, location="eu",
                                                                           clock_skew=ARRIVAL_SLACK),
                  f"{CLOCK_SKEW:.0f} s before (CLOCK_SKEW)": JetStreamLogReader(writer.link, location="eu")}
        figures: dict[str, list[tuple[float, float, int, int]]] = {label: [] for label in bounds}
        try:
            for _ in range(runs):
                for label, bounded in bounds.items():  # interleaved: the same machine load for both
                    figures[label].append(_read_since(bounded, since, window))
        finally:
            writer.close()
    return figures


def start_bound(sites: int, runs: int) -> None:
    urls = [f"http://site{n}.test/" for n in range(sites)]
    for window in (600.0, float(HOUR)):
        for label, taken in _start_bound_of(urls, window, runs).items():
            since_s, history_s, found, scanned = (statistics.median(run[n] for run in taken) for n in range(4))
            print(f"{sites} sites at 1 s, the last {window / 60:.0f} min ({found:,.0f} probes), started {label}: "
                  f"{scanned:,.0f} messages scanned; probes_since {since_s:.2f} s, probe_history {history_s:.2f} s "
                  f"(median of {runs})")


def main() -> None:
    if sys.argv[1:2] == ["start-bound"]:
        start_bound(int(sys.argv[2]) if len(sys.argv) > 2 else 10, int(sys.argv[3]) if len(sys.argv) > 3 else 5)
        return
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

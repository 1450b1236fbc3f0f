"""Micro runs, in virtual time and without the network: the operators, the replay of a stored log,
the SQLite sink, and the memory the windows hold.

Each function runs once and returns its figures; `bench.__main__` repeats them
and takes medians. The operators are wired as `graph.monitor.MonitorGraph` wires them:
one probe stream into the alert machine and the report windows, with report
requests every 10 s (2 and 10 minutes) and every 60 s (1 hour) of virtual time.
"""

from __future__ import annotations

import gc
import random
import sqlite3
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from itertools import groupby
from pathlib import Path
from typing import Any

import reactivex
from reactivex.subject import BehaviorSubject, Subject

from monitoringapp.domain.config import DEFAULT_REPORTS, AlertPolicy, Config, SiteConfig
from monitoringapp.domain.events import AlertTransition, ErrorKind, Probe, ProbeBatch, Report, ReportRequest
from monitoringapp.graph.replay import ReplayedChunk, ReplayStart, replayed
from monitoringapp.operators.alert_machine import SiteAlertMachine
from monitoringapp.operators.alerts import alert_transitions
from monitoringapp.operators.reports import window_reports
from monitoringapp.operators.site_windows import SiteWindows
from monitoringapp.store import open_probe_archive
from monitoringapp.store.sqlite.reader import SqliteLogReader
from monitoringapp.store.sqlite.schema import insert_events, open_for_writing
from monitoringapp.store.sqlite.writer import SqliteEventLog
from monitoringapp.streams.probe_pool import ProbePool

Figures = dict[str, Any]
START = 1_795_000_000.0  # a fixed virtual epoch (2026-11-18)
SPANS = tuple(sorted({w for spec in DEFAULT_REPORTS for w in spec.windows}))


def synthetic_probes(sites: int, seconds: int, seed: int = 6) -> Iterator[Probe]:
    """`sites` sites checked every second for `seconds`: mostly up, some 5xx, some errors, one flapping."""
    rng = random.Random(seed)
    hosts = [f"http://127.0.0.1:8000/{n}" for n in range(sites)]
    for second in range(seconds):
        now = START + second
        for n, host in enumerate(hosts):
            draw = rng.random()
            if n == 0 and (second // 300) % 2 == 1:  # site 0 is down every other 5 minutes
                yield Probe(now, host, False, 503, 1.5)
            elif draw < 0.02:
                yield Probe(now, host, False, None, None, ErrorKind.TIMEOUT)
            elif draw < 0.05:
                yield Probe(now, host, False, 500, 2.0 + draw)
            else:
                yield Probe(now, host, True, 200, 0.5 + draw * 3)


class OperatorGraph:
    """The monitor's operators behind two subjects: `probes.on_next` (a probe, or a batch), `requests.on_next`."""

    def __init__(self, history: tuple[Probe, ...] = ()) -> None:
        self.probes: Subject[Probe | ProbeBatch] = Subject()
        self.requests: Subject[ReportRequest] = Subject()
        self.transitions: list[AlertTransition] = []
        self.reports = 0
        policies = BehaviorSubject(AlertPolicy())
        self.probes.pipe(alert_transitions(policies, {}, history)).subscribe(self.transitions.append)
        events: reactivex.Observable[Probe | ProbeBatch | ReportRequest] = reactivex.merge(self.probes, self.requests)
        events.pipe(window_reports(SPANS, history)).subscribe(self._count_report)

    def _count_report(self, _: Report) -> None:
        self.reports += 1

    def feed(self, probes: Iterator[Probe] | list[Probe], batched: bool = True) -> int:
        """Push probes, asking for the default reports as virtual time passes; the number pushed. `batched`:
        each second's probes as one batch, as a monitor busy with every site's tick of that second lands them
        (`streams.concurrent.map_on`); else one at a time, as a monitor with a clock to spare does."""
        count = 0
        next_request = None
        on_next = self.probes.on_next
        for second, same_time in groupby(probes, _timestamp):
            if next_request is None:
                next_request = second + 10
            while second >= next_request:
                for spec in DEFAULT_REPORTS:
                    if (next_request - START) % spec.every == 0:
                        self.requests.on_next(ReportRequest(next_request, spec.windows))
                next_request += 10
            if batched:
                batch = tuple(same_time)
                on_next(batch)
                count += len(batch)
            else:
                for probe in same_time:
                    on_next(probe)
                    count += 1
        return count


def _timestamp(probe: Probe) -> float:
    return probe.timestamp


def operators_events_per_s(sites: int = 100, seconds: int = 3000) -> Figures:
    """Probe events per second through the alert machine and the report windows.

    `events_per_s` is the probe path alone; `with_reports_events_per_s` also
    answers the default report requests (stats of every site over 2 min and
    10 min every 10 s, over 1 h every minute) as virtual time passes. Both per
    second of wall time, and (`..._per_cpu_s`) of this process's CPU time: on a
    machine shared with other work, the second is the code's own cost. The probes
    come in batches of a second's probes, as a monitor busy with every site's tick
    lands them; `one_at_a_time_...` is the same with each probe on its own, as a
    monitor with a clock to spare lands them.
    """
    probes = list(synthetic_probes(sites, seconds))
    figures: Figures = {"events": len(probes)}
    runs = (("events_per_s", False, True), ("with_reports_events_per_s", True, True),
            ("one_at_a_time_with_reports_events_per_s", True, False))
    judged: list[list[AlertTransition]] = []
    for key, with_reports, batched in runs:
        graph = OperatorGraph()
        gc.collect()
        started, cpu = time.perf_counter(), time.process_time()
        if with_reports:
            graph.feed(probes, batched)
        else:
            for _, same_time in groupby(probes, _timestamp):
                graph.probes.on_next(tuple(same_time))
        figures[key] = round(len(probes) / (time.perf_counter() - started))
        figures[key.replace("_per_s", "_per_cpu_s")] = round(len(probes) / (time.process_time() - cpu))
        figures["transitions"] = len(graph.transitions)
        figures["reports"] = graph.reports
        judged.append(graph.transitions)
    if any(transitions != judged[0] for transitions in judged):
        raise RuntimeError("the batches were judged otherwise than the probes one at a time")
    return figures


def pool_handoff_us(actions: int = 50_000) -> Figures:
    """CPU (µs, every thread of this process) per action scheduled on the probe pool and run: the hand-off a
    probe pays on its way from the clock to a probe thread, without the probe. The pool `-m` has: one core thread."""
    pool = ProbePool(max_workers=4)
    ran = 0
    lock = threading.Lock()  # the watchdog adds threads once actions have queued 250 ms
    done = threading.Event()

    def action(_: object, __: object = None) -> None:
        nonlocal ran
        with lock:
            ran += 1
            if ran == actions:
                done.set()

    gc.collect()
    cpu = time.process_time()
    for _ in range(actions):
        pool.schedule(action)
    finished = done.wait(60)
    spent = time.process_time() - cpu
    pool.executor.shutdown(wait=True)
    if not finished:
        raise RuntimeError(f"the pool ran {ran} of {actions} actions in 60 s")
    return {"actions": actions, "cpu_us_per_action": round(spent * 1e6 / actions, 2)}


def write_log(path: Path, rows: int, sites: int) -> None:
    """A `website_monitoring` table of `rows` rows, as the monitor would have stored them."""
    connection = open_for_writing(path)
    probes = synthetic_probes(sites, -(-rows // sites))
    connection.execute("BEGIN")
    batch: list[Probe] = []
    for n, probe in enumerate(probes):
        if n == rows:
            break
        batch.append(probe)
        if len(batch) == 50_000:
            insert_events(connection, batch)
            batch = []
    insert_events(connection, batch)
    connection.execute("COMMIT")
    connection.close()


def replay_rows_per_s(db: Path) -> Figures:
    """A restart's path over the whole log: read and decode every row, then warm the operators with it."""
    gc.collect()
    started = time.perf_counter()
    reader = SqliteLogReader(db)
    try:
        history = tuple(reader.probes_since(0.0).events)
    finally:
        reader.close()
    read = time.perf_counter()
    graph = OperatorGraph(history)
    last = history[-1].timestamp
    for host in dict.fromkeys(probe.host for probe in history[-1000:]):
        graph.probes.on_next(Probe(last + 1, host, True, 200, 1.0))  # each site's alert machine warms here
    graph.requests.on_next(ReportRequest(last + 1, SPANS))  # the warmed windows answer
    done = time.perf_counter()
    rows = len(history)
    return {"rows": rows, "seconds": round(done - started, 3), "rows_per_s": round(rows / (done - started)),
            "read_s": round(read - started, 3), "operators_s": round(done - read, 3)}


def replay_probes_per_s(db: Path, sites: int = 250) -> Figures:
    """`--replay`'s path over the whole log: the probes read forward in chunks through the `ProbeArchive` seam
    and judged by the alert machines and the certificate watch, as `graph.replay` drives them."""
    config = Config(tuple(SiteConfig(f"http://127.0.0.1:8000/{n}", 1.0, 1.0) for n in range(sites)))
    probes = transitions = 0

    def count(item: ReplayStart | ReplayedChunk) -> None:
        nonlocal probes, transitions
        if isinstance(item, ReplayedChunk):
            probes += sum(item.probes.values())
            transitions += len(item.transitions)

    gc.collect()
    started = time.perf_counter()
    archive = open_probe_archive(db)
    try:
        replayed(archive, config).subscribe(count)
    finally:
        archive.close()
    elapsed = time.perf_counter() - started
    return {"probes": probes, "transitions": transitions, "seconds": round(elapsed, 3),
            "probes_per_s": round(probes / elapsed)}


def history_rows_per_s(db: Path) -> Figures:
    """A restart's background fill over the whole log: read it newest first in chunks of columns
    (`probe_history`) into the report windows, which then answer a request for every span."""
    gc.collect()
    started = time.perf_counter()
    reader = SqliteLogReader(db)
    windows = SiteWindows(SPANS)
    rows = 0
    try:
        for chunk in reader.probe_history(0.0, 4e9):
            windows.add_earlier(chunk)
            rows += sum(len(site) for site in chunk)
    finally:
        reader.close()
    read = time.perf_counter()
    last = max(window.latest for window in windows.by_host.values())
    windows.report(ReportRequest(last + 1, SPANS))  # every window takes its chunks in, and sorts its spans
    done = time.perf_counter()
    return {"rows": rows, "seconds": round(done - started, 3), "rows_per_s": round(rows / (done - started)),
            "read_s": round(read - started, 3), "windows_s": round(done - read, 3)}


def sink_rows_per_s(rows: int = 200_000, sites: int = 200) -> Figures:
    """Probes appended to the SQLite store from one thread, until `close` has committed them all."""
    probes = list(synthetic_probes(sites, -(-rows // sites)))[:rows]
    with tempfile.TemporaryDirectory(prefix="bench-sink-") as scratch:
        store = SqliteEventLog(Path(scratch) / "sink.db")
        gc.collect()
        started = time.perf_counter()
        for probe in probes:
            store.append_probe(probe)
        store.close()
        elapsed = time.perf_counter() - started
        with sqlite3.connect(Path(scratch) / "sink.db") as check:
            stored = check.execute("SELECT count(*) FROM website_monitoring").fetchone()[0]
    if stored != rows:
        raise RuntimeError(f"sink stored {stored} of {rows} rows")
    return {"rows": rows, "seconds": round(elapsed, 3), "rows_per_s": round(rows / elapsed),
            "commits": store.commits}


def window_memory_mb(sites: int, seconds: int = 3600) -> Figures:
    """Bytes the operators' state holds (report windows, with each span's response times in order as the
    reports keep them, and alert machines) after `seconds` of `sites`.

    The state classes are fed directly, as the operators feed them: what tracemalloc
    counts is then the windows alone, not the Rx plumbing or the reports' output.
    """
    policy = AlertPolicy()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        windows = SiteWindows(SPANS)
        machines: dict[str, SiteAlertMachine] = {}
        for probe in synthetic_probes(sites, seconds):
            windows.add(probe)
            machine = machines.get(probe.host)
            if machine is None:
                machine = machines[probe.host] = SiteAlertMachine(probe.host, policy)
            machine.on_probe(probe, policy)
        windows.report(ReportRequest(START + seconds, SPANS))
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    kept = sum(len(w) for w in windows.by_host.values()) + sum(len(m.window) for m in machines.values())
    return {"sites": sites, "seconds": seconds, "mb": round(held / 1e6, 2), "probes_kept": kept,
            "bytes_per_probe_kept": round(held / kept, 1)}

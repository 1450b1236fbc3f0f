"""Runs scenarios on the monitoring graph in virtual time and checks them: scenarios in, a verdict table out.

Each scenario gets the very `MonitorGraph` that `-m` runs, with three things swapped:
the clock is a `HistoricalScheduler` (virtual time from a fixed UTC instant),
the io scheduler is immediate (each tick's real HTTP request runs inline while
virtual time stands still), and the sites are endpoints of the local scenario
server. Transitions are checked as emitted, as stored and as printed.
"""

from __future__ import annotations

import io
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from reactivex.disposable import CompositeDisposable
from reactivex.scheduler import HistoricalScheduler, ImmediateScheduler
from reactivex.subject import Subject

from monitoringapp.domain.config import Config, parse_config
from monitoringapp.domain.events import AlertTransition
from monitoringapp.domain.timefmt import epoch_seconds, format_duration, utc_datetime
from monitoringapp.graph.monitor import MonitorGraph, load_past
from monitoringapp.sinks.console import Console, percent, transition_line
from monitoringapp.sinks.table import format_table
from monitoringapp.store import open_event_log, open_log_reader
from monitoringapp.store.log import BEGINNING, LogUnavailable, StoreError
from monitoringapp.streams.http_probe import HttpProber
from monitoringapp.testmode.scenarios import Expect, Scenario
from monitoringapp.testmode.server import ScenarioServer
from monitoringapp.transport.proxies import Proxies

# Whole seconds, so that every tick's time is exact in binary floating point.
VIRTUAL_START = datetime(2026, 1, 1, tzinfo=UTC)
_AVAILABILITY_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Observed:
    """A transition as the checker sees it: virtual seconds after the start, site by name."""

    kind: str
    at: float
    site: str
    availability: float


@dataclass(frozen=True, slots=True)
class Outcome:
    scenario: Scenario
    requests: int
    observed: tuple[Observed, ...]
    problems: tuple[str, ...]
    wall_seconds: float

    @property
    def passed(self) -> bool:
        return not self.problems


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def run_scenario(scenario: Scenario, server: ScenarioServer, db_path: Path) -> Outcome:
    """Play `scenario` on `server`, monitor it into `db_path`, and check what came out."""
    started = time.perf_counter()
    clock = HistoricalScheduler(VIRTUAL_START)
    origin = epoch_seconds(VIRTUAL_START)
    paths = {name: f"/{slug(scenario.name)}/{name}" for name in scenario.sites}
    urls = {server.base_url + path: name for name, path in paths.items()}
    config = parse_config(json.dumps({
        "websites": [{"URL": server.base_url + paths[name], "checkInterval": site.interval,
                      "timeout": site.timeout, **site.settings} for name, site in scenario.sites.items()],
        **scenario.settings,
    }), source=f"scenario {scenario.name!r}")
    server.play({paths[name]: site.phases for name, site in scenario.sites.items()},
                lambda: epoch_seconds(clock.now) - origin)

    emitted: list[AlertTransition] = []
    printed = io.StringIO()
    ends = [scenario.duration] if scenario.restart_at is None else [scenario.restart_at, scenario.duration]
    for end in ends:
        # A restart is a new monitor, log and connection pool on the same database and clock.
        # The scenario server is local: a user's HTTP_PROXY must not carry its requests elsewhere.
        prober = HttpProber(pool_size=len(scenario.sites), proxies=Proxies({}))
        log = open_event_log(db_path)
        console = Console(printed, colour=False)
        stop: Subject[Config] = Subject()  # completes at the end: the clocks stop
        graph = MonitorGraph(config, stop, prober.check, clock, ImmediateScheduler(),
                             load_past(log, config, epoch_seconds(clock.now)))
        running = CompositeDisposable(
            graph.probes.subscribe(log.append_probe),
            graph.transitions.subscribe(log.append_transition),
            graph.transitions.subscribe(emitted.append),
            graph.transitions.subscribe(console.show_transition),
            graph.reports.subscribe(console.show_report),
        )
        running.add(graph.connect())
        clock.advance_to(utc_datetime(origin + end))
        stop.on_completed()
        running.dispose()
        log.close()  # every row is in the file from here on
        prober.close()
    requests = server.requests

    observed = tuple(Observed(t.kind.value, t.timestamp - origin, urls[t.host], t.availability or 0.0)
                     for t in emitted)
    problems = [*_compare(scenario.expected, observed, multi_site=len(scenario.sites) > 1),
                *_check_store(scenario, db_path, urls, emitted, requests),
                *(f"console lacks: {transition_line(t)}" for t in emitted
                  if transition_line(t) not in printed.getvalue())]
    return Outcome(scenario, requests, observed, tuple(problems), time.perf_counter() - started)


def _matches(expect: Expect, seen: Observed) -> bool:
    return (expect.kind.value, expect.at, expect.site) == (seen.kind, seen.at, seen.site) and (
        expect.availability is None
        or math.isclose(expect.availability, seen.availability, abs_tol=_AVAILABILITY_TOLERANCE))


def _compare(expected: Sequence[Expect], observed: Sequence[Observed], multi_site: bool) -> list[str]:
    if len(expected) == len(observed) and all(map(_matches, expected, observed)):
        return []
    return [f"expected {', '.join(show_expected(e, multi_site) for e in expected) or 'no transition'}; "
            f"observed {', '.join(show_observed(o, multi_site) for o in observed) or 'no transition'}"]


def _check_store(scenario: Scenario, db_path: Path, urls: dict[str, str],
                 emitted: list[AlertTransition], requests: int) -> list[str]:
    """The log must hold every probe (one per request), the transitions as emitted and the error kinds."""
    problems = []
    log = open_log_reader(db_path)
    try:
        probes = log.probes_since(None, urls).events
        transitions = log.transitions_after(BEGINNING, urls).events
    except (LogUnavailable, StoreError) as error:
        return [f"{db_path}: {error}"]
    finally:
        log.close()
    if len(probes) != requests:
        problems.append(f"stored {len(probes)} probes for {requests} requests")
    if list(transitions) != emitted:
        problems.append(f"stored transitions {list(transitions)} differ from the transitions emitted")
    for url, site in urls.items():
        errors = dict(Counter(probe.error.value for probe in probes if probe.host == url and probe.error is not None))
        wanted = dict(scenario.stored_errors.get(site, {}))
        if errors != wanted:
            problems.append(f"{site}: stored error kinds {errors or '{}'}, expected {wanted or '{}'}")
    return problems


def _at(seconds: float) -> str:
    return f"+{seconds:g}s"


def show_expected(expect: Expect, multi_site: bool) -> str:
    text = f"{expect.kind.value}@{_at(expect.at)}"
    if expect.availability is not None:
        text += f" {percent(expect.availability)}"
    return f"{expect.site}:{text}" if multi_site else text


def show_observed(seen: Observed, multi_site: bool) -> str:
    text = f"{seen.kind}@{_at(seen.at)} {percent(seen.availability)}"
    return f"{seen.site}:{text}" if multi_site else text


HEADER = ("scenario", "requests", "virtual", "wall ms", "expected", "observed", "result")
_RIGHT = (False, True, True, True, False, False, False)


def outcome_rows(outcome: Outcome) -> list[list[str]]:
    """One table row per transition, expected and observed side by side; the first carries the figures."""
    scenario = outcome.scenario
    multi = len(scenario.sites) > 1
    expected = [show_expected(e, multi) for e in scenario.expected] or ["-"]
    observed = [show_observed(o, multi) for o in outcome.observed] or ["-"]
    lines = max(len(expected), len(observed))
    rows = []
    for i in range(lines):
        first = i == 0
        rows.append([
            scenario.name if first else "",
            str(outcome.requests) if first else "",
            format_duration(scenario.duration) if first else "",
            f"{outcome.wall_seconds * 1000:.0f}" if first else "",
            expected[i] if i < len(expected) else "",
            observed[i] if i < len(observed) else "",
            ("PASS" if outcome.passed else "FAIL") if first else "",
        ])
    return rows


def run_scenarios(scenarios: Sequence[Scenario], db_path: Path, out: TextIO,
                  on_outcome: Callable[[Outcome], None] | None = None) -> list[Outcome]:
    """Run every scenario against one fresh server into `db_path`; print the table and the totals to `out`.
    `on_outcome` hears of each scenario as it is done (what an interrupted run had done)."""
    names = [slug(s.name) for s in scenarios]
    if len(set(names)) != len(names):
        raise ValueError(f"scenario names must differ: {names}")
    started = time.perf_counter()
    server = ScenarioServer()
    server.start()
    try:
        outcomes = []
        for scenario in scenarios:
            outcomes.append(run_scenario(scenario, server, db_path))
            if on_outcome is not None:
                on_outcome(outcomes[-1])
    finally:
        server.stop()
    wall = time.perf_counter() - started
    rows = [row for outcome in outcomes for row in outcome_rows(outcome)]
    lines = format_table(HEADER, rows, _RIGHT)
    failed = [o for o in outcomes if not o.passed]
    lines += [f"FAIL {o.scenario.name}: {problem}" for o in failed for problem in o.problems]
    lines.append(
        f"{len(outcomes) - len(failed)}/{len(outcomes)} scenarios passed: "
        f"{sum(o.requests for o in outcomes)} requests, "
        f"{format_duration(sum(s.duration for s in scenarios))} virtual in {wall:.2f} s wall")
    out.write("\n".join(lines) + "\n")
    return outcomes

"""The monitoring graph run in a test as `-m` runs it, with list sinks: start, reload, stop."""

from __future__ import annotations

from reactivex import abc
from reactivex.disposable import CompositeDisposable
from reactivex.scheduler import ImmediateScheduler
from reactivex.subject import Subject

from monitoringapp.domain.config import Config
from monitoringapp.domain.events import AlertTransition, Probe, Report
from monitoringapp.graph.monitor import MonitorGraph, StoredPast
from monitoringapp.store.log import LogWriter, PastReader
from monitoringapp.streams.probes import ConfigChange, ProbeFunction


class RunningMonitor:
    """A `MonitorGraph` of `config` writing `log`, its transitions, reports and changes kept in lists; a site a
    reload adds reads its past from `history` (on `background`: default at once)."""

    def __init__(self, config: Config, log: LogWriter, probe: ProbeFunction, clock: abc.SchedulerBase,
                 io: abc.SchedulerBase | None = None, past: StoredPast | None = None,
                 history: PastReader | None = None, background: abc.SchedulerBase | None = None) -> None:
        self.log = log
        self.updates: Subject[Config] = Subject()
        self.graph = MonitorGraph(config, self.updates, probe, clock, io or ImmediateScheduler(), past,
                                  background=background, log=history)
        self.probes: list[Probe] = []
        self.transitions: list[AlertTransition] = []
        self.reports: list[Report] = []
        self.changes: list[ConfigChange] = []
        graph = self.graph
        self.subscriptions = CompositeDisposable(
            graph.probes.subscribe(log.append_probe), graph.transitions.subscribe(log.append_transition),
            graph.probes.subscribe(self.probes.append), graph.transitions.subscribe(self.transitions.append),
            graph.reports.subscribe(self.reports.append), graph.changes.subscribe(self.changes.append))

    def start(self) -> None:
        self.subscriptions.add(self.graph.connect())

    def reload(self, config: Config) -> None:
        self.updates.on_next(config)

    def stop(self) -> None:
        """The clocks stop; then everything is detached and the log flushed and closed."""
        self.updates.on_completed()
        self.subscriptions.dispose()
        self.log.close()

"""The what-if replay's graph: the stored probes, read forward in time, judged by a candidate config's policies
with the very logic `-m` runs (the alert machines of `operators.alerts`, the certificate watch of
`operators.certificates`), in virtual time: each probe's own timestamp is the clock.

    warm-up: one alert window of probes before `since`, the alert state stored as of `since`,
             the certificate warnings told before it
    probe chunks (time order) ─▶ AlertMachines ─┬─▶ transitions, with each chunk's probe counts ─▶ out
                                CertificateWatch ┘

The logic classes are driven directly, a chunk at a time, rather than through an operator per probe: the same
code, judged in the same order, at a fraction of the cost (the replay reads hundreds of thousands of probes a
second). It writes nothing: the log is read through a `ProbeArchive` (read-only).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops
from reactivex.scheduler import ImmediateScheduler

from monitoringapp.domain.config import AlertPolicy, Config
from monitoringapp.domain.events import LOCAL, AlertTransition, Probe, TransitionKind
from monitoringapp.operators.alert_machine import AlertMachines
from monitoringapp.operators.certificate_watch import DAY, CertificateWatch
from monitoringapp.store.log import ProbeArchive

CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class ReplayedChunk:
    """What one chunk of stored probes gave: the transitions, in order, how many probes of each site, and how
    many came from a named location (an evaluator's projection, judged here as if from one place)."""

    transitions: tuple[AlertTransition, ...]
    probes: Counter[str]
    last: float | None  # the last probe's timestamp
    located: int = 0


@dataclass(frozen=True, slots=True)
class ReplayStart:
    """Where the replay starts: the probes it was warmed up with, and the alerts open at `since`."""

    warm_probes: int
    open_alerts: int


def replayed(archive: ProbeArchive, config: Config, since: float | None = None,
             hosts: Collection[str] | None = None, chunk: int = CHUNK) -> Observable[ReplayStart | ReplayedChunk]:
    """The transitions `config`'s policies make of the probes stored from `since` on (all with None), of `hosts`
    (default: the config's sites), chunk by chunk; first where it starts from.

    With `since`, the machines start as a restart at `since` would: warmed with the probes of the alert window
    before it, each site's alert state as stored then, and the certificate warnings already told.

    ```text
    chunks:  --[p1 .. p20000]--[p20001 .. p40000]--...--|
             [replayed(archive, config, since)]
    out:     S--C(alert@p17)---C()-----------------...--|
    ```

    Example: ``replayed(open_probe_archive("monitoring.db"), read_config("candidate.json"), time.time() - 86400)``
    """
    keys = frozenset(hosts) if hosts is not None else config.keys
    policies = config.policies

    def factory(_: abc.SchedulerBase | None) -> Observable[ReplayStart | ReplayedChunk]:
        history: list[Probe] = []
        restored: dict[str, AlertTransition] = {}
        warned: Sequence[AlertTransition] = ()
        if since is not None:
            for probes in archive.probe_chunks(since - policies.longest_window, since, keys, chunk):
                history.extend(probes)
            restored = archive.alert_state_at(since, keys)
            widest = max((day for site in config.sites for day in site.certificate_days), default=0.0)
            if widest:
                told = archive.transitions_since(since - widest * DAY, keys).events
                warned = [t for t in told if t.kind is TransitionKind.CERTIFICATE and t.timestamp < since]
        machines = AlertMachines(restored, history)
        watch = CertificateWatch(warned)
        machines.on_event(policies)
        watch.on_event(policies)
        start = ReplayStart(len(history), sum(t.kind is TransitionKind.ALERT for t in restored.values()))

        def judge(probes: Sequence[Probe]) -> ReplayedChunk:
            # `on_event` for each probe, with the policy looked up once per site rather than per probe.
            judged: list[AlertTransition] = []
            alert, warn = machines.judge, watch.on_event
            policy_of: dict[str, AlertPolicy] = {}
            for probe in probes:
                policy = policy_of.get(probe.host)
                if policy is None:
                    policy = policy_of[probe.host] = policies.alert(probe.host)
                transition = alert(probe, policy)
                if transition is not None:
                    judged.append(transition)
                if probe.certificate_expiry is not None:
                    warning = warn(probe)
                    if warning is not None:
                        judged.append(warning)
            return ReplayedChunk(tuple(judged), Counter(probe.host for probe in probes),
                                 probes[-1].timestamp if probes else None,
                                 sum(probe.location != LOCAL for probe in probes))

        chunks: Iterator[Sequence[Probe]] = archive.probe_chunks(since, None, keys, chunk)
        judged: Observable[ReplayStart | ReplayedChunk] = reactivex.from_iterable(
            chunks, ImmediateScheduler.singleton()).pipe(ops.map(judge))
        return judged.pipe(ops.start_with(start))

    return reactivex.defer(factory)

"""The evaluator's graph: every location's probes, as a durable consumer delivers them, in; one verdict per batch
out (the probes judged, the transitions they caused, the messages to acknowledge).

    batches of (sequence, probe) ─▶ already judged? ─┬─ yes: acknowledge only
                                                     └─ no ─▶ QuorumEvaluator (order, per-location machines,
                                                              quorum, silences) ─▶ BatchVerdict

Each delivered probe's own time is also compared with its arrival in the stream: a location whose clock is ahead of
the stream's server is named in the verdict, once (`operators.clock_skew`), for the app to tell the operator.

The app publishes each verdict's transitions to the stream first (their ids make a second evaluator's copy a
duplicate the stream drops), then stores the verdict in its projection, then acknowledges: a crash at any point
repeats nothing and loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from math import inf

import reactivex
from reactivex import Observable, abc
from reactivex import operators as ops

from monitoringapp.domain.config import Config, SitePolicies
from monitoringapp.domain.events import QUORUM, AlertTransition, Probe
from monitoringapp.domain.timefmt import epoch_seconds
from monitoringapp.operators.certificate_watch import CertificateWatch
from monitoringapp.operators.clock_skew import ClockAhead, ClockSkewWatch
from monitoringapp.operators.quorum import LATE_SLACK, QuorumEvaluator, QuorumPolicy, SitePast, Verdict

Delivered = tuple[int, Probe, bool, float]
"""(stream sequence, probe, whether the cluster has delivered it before, when it arrived in the stream)"""


@dataclass(frozen=True, slots=True)
class BatchVerdict:
    """What one batch made final: probes judged (with their stream sequences), transitions, and sequences
    redelivered that had been judged before a restart; and the locations whose clocks it found ahead of the
    stream's server (each told once)."""

    judged: tuple[tuple[Probe, int], ...]
    transitions: tuple[AlertTransition, ...]
    already_judged: tuple[int, ...]
    clocks_ahead: tuple[ClockAhead, ...] = ()

    @property
    def to_acknowledge(self) -> tuple[int, ...]:
        return (*(sequence for _, sequence in self.judged), *self.already_judged)

    @property
    def to_commit(self) -> bool:
        """Whether it has anything for the log (probes judged, transitions, acknowledgements), not only warnings."""
        return bool(self.judged or self.transitions or self.already_judged)


def _says_anything(verdict: BatchVerdict) -> bool:
    return verdict.to_commit or bool(verdict.clocks_ahead)


def quorum_policies(config: Config) -> dict[str, QuorumPolicy]:
    """Each site's policy across locations: its alert policy (its own, else the config's) and its quorum (its
    own, else the config's); a location may be late by the site's check interval plus 2 s. Keyed by the site's
    key (its `name`, else its URL), which is also what partitions the sites between evaluators."""
    return {site.key: QuorumPolicy(site.policy or config.alert, site.quorum or config.quorum,
                                   site.check_interval + LATE_SLACK)
            for site in config.sites}


def evaluation(
    policies: Mapping[str, QuorumPolicy],
    clock: abc.SchedulerBase,
    pasts: Mapping[str, SitePast] | None = None,
    history: Sequence[Probe] = (),
    judged_among: Callable[[Sequence[int]], Collection[int]] = lambda _: (),
    certificates: SitePolicies | None = None,
    warned: Sequence[AlertTransition] = (),
    clock_skew: float = inf,
) -> Callable[[Observable[Sequence[Delivered]]], Observable[BatchVerdict]]:
    """Batches of delivered probes in (an empty batch: a fetch found nothing), a verdict per batch that made
    anything final out.

    Each site's probes are judged in (scheduled time, location) order, a probe waiting for the other locations
    of its site at most its lateness on `clock`; an empty batch releases what has waited long enough. `pasts`
    and `history` resume a restarted evaluator (from its projection); `judged_among` says which of a batch's
    sequences were judged already (delivered again after a restart, or an acknowledgement lost with the
    cluster), so nothing is judged twice. With `certificates` (each site's warning days), every judged probe's
    certificate is watched too: one warning per site, certificate and threshold whichever location saw it
    (location `quorum`), none of those already `warned` told again. A location whose probe is stamped more than
    `clock_skew` seconds after it arrived in the stream has a clock ahead of the stream's server: the verdict of
    the batch that shows it says so, once (`operators.clock_skew`).

    ```text
    batches:  --[1:eu@10 2:us@10]--[3:eu@11]--[]--[4:us@11]--
              [evaluation(policies, clock)]
    out:      --V(1,2 judged)-----------------V(3,4 judged; alert)--
    ```

    Example: ``consumer_batches.pipe(evaluation(quorum_policies(config), EventLoopScheduler()))``
    """

    def operator(source: Observable[Sequence[Delivered]]) -> Observable[BatchVerdict]:
        def factory(_: abc.SchedulerBase | None) -> Observable[BatchVerdict]:
            evaluator = QuorumEvaluator(policies, pasts, history)
            holding: set[int] = set()  # delivered and held, not judged yet (a redelivery of one is ignored)
            watch = CertificateWatch(warned, QUORUM)
            clocks = ClockSkewWatch(clock_skew)
            if certificates is not None:
                watch.on_event(certificates)

            def on_batch(batch: Sequence[Delivered]) -> BatchVerdict:
                now = epoch_seconds(clock.now)
                verdicts: list[Verdict] = []
                again: list[int] = []
                judged = judged_among([sequence for sequence, _, _, _ in batch]) if batch else ()
                ahead: list[ClockAhead] = []
                for sequence, probe, _, arrived in batch:
                    warning = clocks.on_probe(probe.location, probe.timestamp, arrived, now)
                    if warning is not None:
                        ahead.append(warning)
                    if sequence in holding:
                        continue
                    if sequence in judged:
                        again.append(sequence)
                        continue
                    holding.add(sequence)
                    verdicts.append(evaluator.on_probe(probe, sequence, now))
                verdicts.append(evaluator.tick(now))
                released = tuple(held for verdict in verdicts for held in verdict.released)
                holding.difference_update(sequence for _, sequence in released)
                transitions = [t for v in verdicts for t in v.transitions]
                for probe, _ in released:
                    expiring = watch.on_event(probe)
                    if expiring is not None:
                        transitions.append(expiring)
                return BatchVerdict(released, tuple(transitions), tuple(again), tuple(ahead))

            verdicts: Observable[BatchVerdict] = source.pipe(ops.map(on_batch))
            return verdicts.pipe(ops.filter(_says_anything))

        return reactivex.defer(factory)

    return operator

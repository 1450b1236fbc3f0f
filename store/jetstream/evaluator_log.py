"""Everything an evaluator reads and writes, in the order that makes a crash repeat nothing and lose nothing.

It consumes the probes through its durable consumer, publishes each verdict's transitions to the stream (their
deterministic ids make a second evaluator's copy, or this one's after a restart, a duplicate the stream drops),
then stores the verdict in its projection, then acknowledges the messages it judged. After a crash the cluster
redelivers what was not acknowledged, and the projection says which of those were judged already.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

from reactivex import Observable

from monitoringapp.domain.events import AlertTransition, Probe
from monitoringapp.operators.quorum import SitePast
from monitoringapp.store.jetstream.consumer import Delivered, ProbeConsumer
from monitoringapp.store.jetstream.link import NatsLink
from monitoringapp.store.jetstream.reader import JetStreamLogReader
from monitoringapp.store.jetstream.subjects import STREAM
from monitoringapp.store.jetstream.writer import JetStreamLogWriter
from monitoringapp.store.log import LogUnavailable
from monitoringapp.store.sqlite.projection import SqliteProjection, refuse_another_partition
from monitoringapp.store.sqlite.spool import ProbeSpool

PUBLISH_WAIT = 10.0


def durable_name(projection: str | Path, partition: tuple[int, int]) -> str:
    """One durable consumer per evaluator: two evaluators (active-active) each judge every probe. Proposed when a
    projection is new; the projection keeps it (the host's name and the path may change under a projection)."""
    where = f"{socket.gethostname()}:{Path(projection).resolve()}"
    return f"evaluator-{partition[0]}of{partition[1]}-{hashlib.sha256(where.encode()).hexdigest()[:10]}"


class EvaluatorLog:
    """An evaluator's consumer, publisher and projection, from `servers` into the projection at `projection`."""

    def __init__(self, servers: Sequence[str], projection: str | Path, *, partition: tuple[int, int] = (0, 1),
                 ack_wait: float = 60.0) -> None:
        part = f"{partition[0]}/{partition[1]}"
        refuse_another_partition(projection, STREAM, part)
        self.projection = SqliteProjection(projection, STREAM)
        self.durable = self.projection.consumer_name(part, durable_name(projection, partition))
        self.link = NatsLink(servers, self.durable).start()
        self.consumer = ProbeConsumer(self.link, self.durable, partition=partition, ack_wait=ack_wait)
        self.publisher = JetStreamLogWriter(self.link, ProbeSpool(f"{projection}.spool", 100_000),
                                            manages_stream=False)
        self._stored: frozenset[str] | None = None

    @property
    def errors(self) -> Observable[str]:
        return self.publisher.errors

    def resume(self, hosts: Collection[str], span: float) -> tuple[dict[str, SitePast], tuple[Probe, ...]]:
        """What the evaluator resumes from: each site's past, and the last `span` seconds of probes it judged."""
        return self.projection.pasts(hosts, span)

    def fetch(self, batch: int, timeout: float) -> list[Delivered]:
        delivered = self.consumer.fetch(batch, timeout)
        if self.consumer.made_anew():
            # The stream made again (its sequences start at 1 again), or the consumer deleted: what the projection
            # knows as judged is of another stream, and would pass this one's probes off as judged.
            self.projection.forget_judged_through(sys.maxsize)
        return delivered

    def commit(self, judged: Sequence[tuple[Probe, int]], transitions: Sequence[AlertTransition],
               already_judged: Sequence[int]) -> None:
        stored = self._stored_before_start() if transitions else frozenset()
        new = [transition for transition in transitions if transition.id not in stored]
        for transition in new:
            self.publisher.append_transition(transition)
        if new:
            self.publisher.flush(PUBLISH_WAIT)  # what is still unsent waits in the publisher's spool
        sequences = [sequence for _, sequence in judged]
        # Only this consumer's: a probe held from a stream deleted meanwhile is stored, not known as judged by a
        # number the stream made again will give another probe.
        self.projection.commit([probe for probe, _ in judged], transitions, self.consumer.delivered(sequences))
        self.consumer.ack([*sequences, *already_judged])

    def _stored_before_start(self) -> frozenset[str]:
        """The ids of the transitions in the stream when this evaluator began to publish. An evaluator catching up
        (a new one, or one back after a long stop) derives them again, and the stream's duplicate window (21
        minutes) drops only the copies of recent ones: an older one would be stored twice. Read once; while the
        stream cannot be read, nothing is known (the duplicate window still holds the recent ones)."""
        if self._stored is None:
            try:
                stored = JetStreamLogReader(self.link).transitions_since(None).events
            except LogUnavailable:
                return frozenset()
            self._stored = frozenset(transition.id for transition in stored)
        return self._stored

    def forget_acknowledged(self) -> None:
        """Drop the judged sequences no redelivery can bring again (later, while the cluster is away)."""
        with contextlib.suppress(LogUnavailable):
            self.projection.forget_judged_through(self.consumer.ack_floor())

    def close(self) -> None:
        self.publisher.close()
        self.projection.close()
        self.link.close()

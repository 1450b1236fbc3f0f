"""An evaluator's durable consumer of the probes: batches of (stream sequence, probe), each acknowledged once it
has been judged and its verdict stored.

Durable, with explicit acknowledgement of each message: after a crash the cluster redelivers exactly what was
not acknowledged, and the evaluator's projection tells which of those it had judged already (see
`store.sqlite.projection`). `partition i/n` reads the probe subjects of the buckets b with b % n == i.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import nats
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from monitoringapp.domain.events import Probe
from monitoringapp.store.jetstream.link import NatsLink
from monitoringapp.store.jetstream.subjects import PROBES, STREAM, partition_subjects, probe_from_message
from monitoringapp.store.log import LogNotCreated, LogUnavailable

REST_WAIT = 0.02
Delivered = tuple[int, Probe, bool, float]
"""(stream sequence, probe, whether the cluster has delivered it before, when it arrived in the stream: the NATS
server's clock)"""


class ProbeConsumer:
    """`fetch` batches, `ack` what was judged. The durable consumer is created when missing."""

    def __init__(self, link: NatsLink, durable: str, *, partition: tuple[int, int] = (0, 1),
                 ack_wait: float = 60.0) -> None:
        self.link = link
        self.durable = durable
        self.subjects: Sequence[str] = PROBES if partition[1] == 1 else partition_subjects(*partition)
        self.ack_wait = ack_wait
        self._unacked: dict[int, Msg] = {}
        self._subscription: object = None
        # Made anew (no consumer of ours was there: a first start, or the stream made again): the sequences judged
        # before are another stream's, or of a consumer that is gone; `made_anew` tells the evaluator's log once.
        self._made_anew = False

    async def _subscribe(self, js: JetStreamContext) -> object:
        if self._subscription is None:
            try:
                await js.stream_info(STREAM)
            except nats.js.errors.NotFoundError:
                raise LogNotCreated(f"waiting for the {STREAM} stream to be created by a prober (-m --nats)") from None
            config = ConsumerConfig(durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT,
                                    deliver_policy=DeliverPolicy.ALL, ack_wait=self.ack_wait,
                                    max_ack_pending=-1, filter_subjects=list(self.subjects))
            # A consumer left by an earlier run starts again just above what it acknowledged: what it had been
            # given but had not acknowledged comes again now, in stream order, not after the ack wait behind
            # newer messages (the projection knows which of those were judged).
            try:
                earlier = await js.consumer_info(STREAM, self.durable)
            except nats.js.errors.NotFoundError:
                self._made_anew = True
                self._unacked.clear()  # another stream's messages, if any: never to be acknowledged
            else:
                floor = earlier.ack_floor.stream_seq if earlier.ack_floor is not None else 0
                await js.delete_consumer(STREAM, self.durable)
                config.deliver_policy, config.opt_start_seq = DeliverPolicy.BY_START_SEQUENCE, floor + 1
            self._subscription = await js.pull_subscribe("", durable=self.durable, stream=STREAM, config=config)
        return self._subscription

    async def _gone(self, js: JetStreamContext) -> bool:
        """Whether this consumer (or its stream) is gone, as a stream deleted takes its consumers with it: the next
        fetch subscribes again (waiting for the stream, if it is not there yet)."""
        try:
            await js.consumer_info(STREAM, self.durable)
        except nats.js.errors.NotFoundError:
            self._subscription = None
            return True
        except (nats.errors.Error, TimeoutError):
            return False  # no answer (a leader being elected): not known to be gone
        return False

    def made_anew(self) -> bool:
        """Whether the consumer was made anew since this was last asked (the sequences judged before are another
        stream's, or of a consumer that is gone)."""
        made, self._made_anew = self._made_anew, False
        return made

    def delivered(self, sequences: Sequence[int]) -> list[int]:
        """Those of `sequences` this consumer delivered and has not acknowledged yet (not another stream's)."""
        return [sequence for sequence in sequences if sequence in self._unacked]

    def fetch(self, batch: int, timeout: float) -> list[Delivered]:
        """Up to `batch` probes, waiting at most `timeout` for the first; [] when none came (LogUnavailable while
        the cluster is unreachable)."""

        async def read(js: JetStreamContext) -> list[Msg]:
            subscription: Any = await self._subscribe(js)
            # nats-py's fetch of n, once it has had to wait for the first message, goes on waiting for the other
            # n - 1 until its timeout: a caught-up evaluator would hold every probe up to `timeout`. So: wait
            # for one, then take at once what else is there (a fetch that finds nothing pending lingers for
            # REST_WAIT at most).
            try:
                first = list(await subscription.fetch(1, timeout=timeout))
            except (TimeoutError, nats.errors.TimeoutError):
                return []
            except nats.errors.Error:
                await self._gone(js)
                raise
            if batch == 1:
                return first
            try:
                return first + list(await subscription.fetch(batch - 1, timeout=REST_WAIT))
            except (TimeoutError, nats.errors.TimeoutError):
                return first

        messages = self.link.call(read, timeout + 5.0)
        delivered = []
        unreadable = []  # none of ours: acknowledged at once, else they would come again and again
        for message in messages:
            metadata = message.metadata
            sequence = metadata.sequence.stream
            self._unacked[sequence] = message
            probe = probe_from_message(message.data)
            if probe is None:
                unreadable.append(sequence)
            else:
                delivered.append((sequence, probe, metadata.num_delivered > 1, metadata.timestamp.timestamp()))
        self.ack(unreadable)
        return delivered

    def ack(self, sequences: Sequence[int]) -> None:
        """Acknowledge the messages of `sequences` (they will not come again)."""
        messages = [self._unacked.pop(sequence) for sequence in sequences if sequence in self._unacked]
        if not messages:
            return

        async def acknowledge(_: JetStreamContext) -> None:
            for message in messages:
                await message.ack()

        # Unacknowledged, they are redelivered, and the projection knows them as judged.
        with contextlib.suppress(LogUnavailable):
            self.link.call(acknowledge, 10.0)

    def ack_floor(self) -> int:
        """The stream sequence below which every message has been acknowledged (0 when none)."""

        async def info(js: JetStreamContext) -> int:
            consumer = await js.consumer_info(STREAM, self.durable)
            return int(consumer.ack_floor.stream_seq) if consumer.ack_floor is not None else 0

        return self.link.call(info, 10.0)

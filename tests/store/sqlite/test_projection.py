"""An evaluator's projection on a real file: a verdict commits whole, a transition once, what was judged is
known, and what a restarted evaluator resumes from."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitoringapp.domain.events import QUORUM, AlertTransition, Probe, TransitionKind
from monitoringapp.store.log import StoreError
from monitoringapp.store.sqlite.projection import SqliteProjection

A = "http://a.test/"


def probe(t: float, location: str, up: bool = True) -> Probe:
    return Probe(t, A, up, 200 if up else 503, 1.0, location=location)


def test_a_verdict_commits_its_probes_transitions_and_sequences_together_and_a_transition_once(
        tmp_path: Path) -> None:
    projection = SqliteProjection(tmp_path / "p.db", "MONITOR")
    alert = AlertTransition(10.0, A, TransitionKind.ALERT, 0.5, 10.0, None, QUORUM)
    projection.commit([probe(10.0, "eu", False)], [alert], [7])
    projection.commit([probe(11.0, "eu")], [alert], [8])  # a second evaluator's copy, say
    assert projection.judged_among([6, 7, 8, 9]) == {7, 8}
    stored = projection.reader.transitions_since(None).events
    assert list(stored) == [alert]
    projection.forget_judged_through(7)
    assert projection.judged_among([7, 8]) == {8}
    projection.close()


class _ProbesHeldMidCommit(list[Probe]):
    """A verdict's probes that hold the commit reading them, inside its transaction, until `release` is set."""

    def __init__(self, probes: list[Probe]) -> None:
        super().__init__(probes)
        self.inside = threading.Event()
        self.release = threading.Event()

    def __iter__(self) -> Iterator[Probe]:
        self.inside.set()
        assert self.release.wait(10.0)
        return super().__iter__()


def test_forgetting_acknowledged_sequences_on_another_thread_waits_for_a_commit_in_progress(tmp_path: Path) -> None:
    """`-e` commits verdicts on its consumer's thread and forgets acknowledged sequences every minute on another,
    through the projection's one connection: the forget's BEGIN inside the open commit failed ("cannot start a
    transaction within a transaction") and stopped the evaluator, a minute or so into a long run."""
    projection = SqliteProjection(tmp_path / "p.db", "MONITOR")
    projection.commit([probe(10.0, "eu")], [], [7])
    held = _ProbesHeldMidCommit([probe(11.0, "eu")])
    failures: list[BaseException] = []

    def run(action: Callable[[], object]) -> threading.Thread:
        def body() -> None:
            try:
                action()
            except BaseException as error:  # what the thread met is the test's outcome
                failures.append(error)
        thread = threading.Thread(target=body)
        thread.start()
        return thread

    committing = run(lambda: projection.commit(held, [], [8]))
    assert held.inside.wait(10.0)
    forgetting = run(lambda: projection.forget_judged_through(7))
    asking = run(lambda: projection.judged_among([7, 8]))
    held.release.set()
    for thread in (committing, forgetting, asking):
        thread.join(10.0)
        assert not thread.is_alive()
    assert failures == []
    assert projection.judged_among([7, 8]) == {8}
    assert [p.timestamp for p in projection.reader.probes_since(0.0).events] == [10.0, 11.0]
    projection.close()


def test_a_restarted_evaluator_resumes_each_sites_and_locations_state_from_the_last_probe_judged(
        tmp_path: Path) -> None:
    projection = SqliteProjection(tmp_path / "p.db", "MONITOR")
    site = AlertTransition(20.0, A, TransitionKind.ALERT, 0.0, 20.0, None, QUORUM)
    eu = AlertTransition(20.0, A, TransitionKind.LOCATION_ALERT, 0.0, 20.0, None, "eu")
    us_silent = AlertTransition(25.0, A, TransitionKind.SILENT, None, 25.0, None, "us")
    projection.commit([probe(t, "eu", False) for t in range(10, 31)] + [probe(15.0, "us")], [site, eu, us_silent],
                      list(range(22)))
    pasts, history = projection.pasts([A], span=5.0)
    past = pasts[A]
    assert (past.site, past.locations, past.silences) == (site, {"eu": eu}, {"us": us_silent})
    assert past.last_probe == {"eu": 30.0, "us": 15.0}
    assert [p.timestamp for p in history] == [26.0, 27.0, 28.0, 29.0, 30.0]  # span back from the last judged
    projection.close()


def test_the_consumer_a_projection_is_fed_by_keeps_the_name_it_was_first_given(tmp_path: Path) -> None:
    projection = SqliteProjection(tmp_path / "p.db", "MONITOR")
    assert projection.consumer_name("1/2", "evaluator-1of2-host-a") == "evaluator-1of2-host-a"
    projection.close()
    again = SqliteProjection(tmp_path / "p.db", "MONITOR")  # a container made again: another host name
    assert again.consumer_name("1/2", "evaluator-1of2-host-b") == "evaluator-1of2-host-a"
    again.close()


def test_a_projection_fed_by_one_partition_refuses_to_be_fed_by_another(tmp_path: Path) -> None:
    # A new partition is a new consumer, which delivers the whole stream: every probe judged again into it.
    projection = SqliteProjection(tmp_path / "p.db", "MONITOR")
    projection.consumer_name("1/2", "evaluator-1of2-host-a")
    with pytest.raises(StoreError) as refused:
        projection.consumer_name("0/1", "evaluator-0of1-host-a")
    projection.close()
    assert str(refused.value) == (f"{tmp_path / 'p.db'}: holds the verdicts of --partition 1/2; judging every site "
                                  "(no --partition) into it would judge every probe in the stream again: give it a "
                                  "projection of its own (-db NEW.db)")

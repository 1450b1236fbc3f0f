"""`OutcomeFold`: probes read back newest first, a block at a time in any order within it."""

from __future__ import annotations

from monitoringapp.domain.events import LastOutcomes
from monitoringapp.store.outcome_fold import Outcome, OutcomeFold

A, B = "http://a.test/", "http://b.test/"


def probe(at: float, host: str = A, up: bool = True) -> Outcome:
    return host, at, up


def test_blocks_newest_first_give_the_last_success_last_failure_and_the_run_after_that_success() -> None:
    fold = OutcomeFold(10.0, {A, B})
    fold.add_older([probe(9.0, A, False), probe(11.0, A), probe(8.0, A, False), probe(10.0, B, False)])
    assert not fold.settled  # A has no success yet, B neither
    fold.add_older([probe(5.0, A, False), probe(7.0, B), probe(6.0, A, False)])
    assert not fold.settled
    fold.add_older([probe(4.0, A), probe(3.0, A, False), probe(2.0, B, False), probe(1.0, "http://c.test/")])
    assert fold.settled  # both sites have both: nothing older changes them
    assert fold.outcomes() == {A: LastOutcomes(A, 4.0, 9.0, 5.0), B: LastOutcomes(B, 7.0, 10.0, 10.0)}


def test_a_site_failing_back_to_the_bound_is_down_since_the_oldest_failure_read_and_any_site_counts_without_hosts(
        ) -> None:
    fold = OutcomeFold(10.0)
    fold.add_older([probe(9.0, A, False), probe(8.0, A, False), probe(7.0, B)])
    assert not fold.settled  # with no sites given, an older probe may be of a site not seen yet
    assert fold.outcomes() == {A: LastOutcomes(A, None, 9.0, 8.0), B: LastOutcomes(B, 7.0, None, None)}

"""Outcome keys: what a probe found, as one int the windows count by; why a probe is down, in words."""

from __future__ import annotations

import pytest

from monitoringapp.domain.events import ERROR_BY_NUMBER, ErrorKind, Probe, down_reason, outcome_key, outcome_parts


@pytest.mark.parametrize("error", [None, *ErrorKind])
@pytest.mark.parametrize("status", [None, 200, 418, 599])
@pytest.mark.parametrize("available", [False, True])
def test_every_outcome_reads_back_from_its_key(status: int | None, error: ErrorKind | None, available: bool) -> None:
    found_status, number, found_available = outcome_parts(outcome_key(status, error, available))
    assert found_status == (status or 0)
    assert (ERROR_BY_NUMBER[number] if number else None) is error
    assert found_available is available


def test_no_two_outcomes_share_a_key() -> None:
    outcomes = [(status, error, up) for status in (None, 200, 599) for error in (None, *ErrorKind)
                for up in (False, True)]
    assert len({outcome_key(*outcome) for outcome in outcomes}) == len(outcomes)


@pytest.mark.parametrize(("probe", "reason"), [
    (Probe(0.0, "h", True, 200, 1.0), None),
    (Probe(0.0, "h", True, 200, 1.0, detail="kept from a past check"), None),  # up: nothing to say
    (Probe(0.0, "h", False, 503, 1.0), "status 503"),  # down by its status alone
    (Probe(0.0, "h", False, 200, 1.0, ErrorKind.CONDITION, detail='bodyContains "ok" not found'),
     'bodyContains "ok" not found'),
    (Probe(0.0, "h", False, None, None, ErrorKind.CONNECTION, detail="Connection refused"), "Connection refused"),
    (Probe(0.0, "h", False, None, None, ErrorKind.TIMEOUT), "timeout"),
    (Probe(0.0, "h", False, None, None), None),
])
def test_a_down_probe_says_why_in_words_its_detail_first_then_its_status_then_its_errors_kind(
        probe: Probe, reason: str | None) -> None:
    assert down_reason(probe) == reason

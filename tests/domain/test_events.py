"""Outcome keys: what a probe found, as one int the windows count by."""

from __future__ import annotations

import pytest

from monitoringapp.domain.events import ERROR_BY_NUMBER, ErrorKind, outcome_key, outcome_parts


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

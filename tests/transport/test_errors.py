"""What a failed exchange's exception carries (`carried_errors`) and the reasons read from it, on real refusals."""

from __future__ import annotations

import requests

from monitoringapp.transport.errors import carried_errors, network_reason, socks_refusal
from tests.local_http import refused_port


class Wrapped(Exception):
    """An exception that names another as its `reason`, as urllib3's MaxRetryError does."""

    def __init__(self, message: str, reason: BaseException | None = None) -> None:
        super().__init__(message)
        self.reason = reason


def test_carried_errors_are_found_breadth_first_each_once() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    middle = Wrapped("middle", reason=refused)
    middle.__cause__ = refused  # carried twice: found once
    outer = Wrapped("outer", reason=middle)
    outer.__context__ = middle
    side = ValueError("an argument", refused)
    top = RuntimeError(side)
    top.__cause__ = outer
    assert carried_errors(top) == [top, outer, side, middle, refused]


def test_a_chain_that_loops_is_walked_to_its_end_and_a_long_one_only_so_far() -> None:
    first, second = OSError("first"), OSError("second")
    first.__context__, second.__context__ = second, first
    assert carried_errors(first) == [first, second]
    deepest = error = OSError("0")
    for depth in range(1, 80):
        error = Wrapped(str(depth), reason=error)
    walked = carried_errors(error)
    assert len(walked) == 50 and deepest not in walked


def test_a_refusal_through_requests_says_so_with_or_without_its_chain_given() -> None:
    try:
        requests.get(f"http://127.0.0.1:{refused_port()}/", timeout=5)
    except requests.ConnectionError as raised:
        error: BaseException = raised
    chain = carried_errors(error)
    assert any(isinstance(cause, ConnectionRefusedError) for cause in chain)
    assert network_reason(error) == network_reason(error, chain) == "Connection refused"
    assert socks_refusal(error) is socks_refusal(error, chain) is None

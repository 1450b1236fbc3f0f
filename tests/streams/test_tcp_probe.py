"""A `tcp://` site against real sockets on 127.0.0.1: a listener that accepts is up, a closed port is down."""

from __future__ import annotations

import json

from monitoringapp.domain.config import SiteConfig, parse_config
from monitoringapp.domain.events import ErrorKind
from monitoringapp.streams.http_probe import HttpProber
from tests.local_http import refused_port, tcp_listener


def tcp_site(port: int, **keys: object) -> SiteConfig:
    return parse_config(json.dumps({"websites": [{"URL": f"tcp://127.0.0.1:{port}", **keys}]}), "c.json").sites[0]


def test_an_accepted_connection_is_up_and_its_response_time_is_the_connect_time() -> None:
    prober = HttpProber()
    with tcp_listener() as listener:
        outcome = prober.check(tcp_site(listener.port, timeout=2))
        slow = prober.check(tcp_site(listener.port, timeout=2, maxResponseTime=1e-9))
    prober.close()
    assert (outcome.available, outcome.status, outcome.error, outcome.detail) == (True, None, None, None)
    assert outcome.response_time_ms is not None and 0 < outcome.response_time_ms < 2000
    assert (slow.available, slow.error) == (False, ErrorKind.SLOW)
    assert slow.detail is not None and "more than maxResponseTime 1e-09 s" in slow.detail


def test_a_refused_connection_is_down_as_a_connection_error_that_says_so() -> None:
    prober = HttpProber()
    outcome = prober.check(tcp_site(refused_port(), timeout=2))
    prober.close()
    assert (outcome.available, outcome.status, outcome.response_time_ms, outcome.error, outcome.detail) == (
        False, None, None, ErrorKind.CONNECTION, "Connection refused")

"""A `tcp://` site against real sockets on 127.0.0.1: a listener that accepts is up, a closed port is down, a name
is looked up within the timeout."""

from __future__ import annotations

import json

from monitoringapp.domain.config import SiteConfig, parse_config
from monitoringapp.domain.events import ErrorKind
from monitoringapp.streams.http_probe import HttpProber
from monitoringapp.transport.resolver import Resolver
from tests.local_dns import UNANSWERED, LocalNames, SilentLookup, UnknownNames
from tests.local_http import refused_port, tcp_listener


def tcp_site(port: int, host: str = "127.0.0.1", **keys: object) -> SiteConfig:
    return parse_config(json.dumps({"websites": [{"URL": f"tcp://{host}:{port}", **keys}]}), "c.json").sites[0]


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


def test_a_name_whose_lookup_does_not_answer_fails_at_the_timeout_as_dns_and_says_so(silent: SilentLookup) -> None:
    # The connect looked the name up itself, for as long as glibc waits on a silent DNS server (5 s x 2 attempts per
    # nameserver) whatever the site's timeout, and outside the resolver that bounds an http:// site's lookup.
    prober = HttpProber(resolver=Resolver(silent, at_once=()))
    try:
        outcome = prober.check(tcp_site(refused_port(), UNANSWERED, timeout=0.3))
        assert silent.entered.is_set() and not silent.release.is_set(), "the probe ended while its lookup blocked"
    finally:
        prober.close()
    assert (outcome.available, outcome.response_time_ms, outcome.error, outcome.detail) == (
        False, None, ErrorKind.DNS, f"the lookup of {UNANSWERED} did not answer within the timeout")


def test_a_name_is_looked_up_by_the_probers_resolver_and_one_that_does_not_exist_says_so() -> None:
    names = LocalNames("db.internal.test")
    prober = HttpProber(resolver=Resolver(names, at_once=()))
    with tcp_listener() as listener:
        named = prober.check(tcp_site(listener.port, "db.internal.test", timeout=2))
    prober.close()
    unknown_prober = HttpProber(resolver=Resolver(UnknownNames("nonexistent.invalid"), at_once=()))
    missing = unknown_prober.check(tcp_site(refused_port(), "nonexistent.invalid", timeout=2))
    unknown_prober.close()
    assert (named.available, named.error) == (True, None)
    assert names.looked_up == ["db.internal.test"]
    assert (missing.available, missing.error, missing.detail) == (False, ErrorKind.DNS, "Name or service not known")

"""The HTTP probe against a real server on 127.0.0.1: statuses, timeouts, refusals, redirects, huge bodies; the
site's request options and conditions; certificates of a test CA over real TLS."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import trustme
import urllib3.exceptions

from bench.processes import wait_until
from monitoringapp.domain.checks import ProbeOutcome
from monitoringapp.domain.config import SiteConfig, parse_config
from monitoringapp.domain.events import ErrorKind
from monitoringapp.streams import http_probe
from monitoringapp.streams.http_probe import (
    BODY_LIMIT,
    HttpProber,
    _as_requests_error,
    certificate_not_after,
    classify,
)
from monitoringapp.transport import errors, resolver
from monitoringapp.transport.proxies import Proxies
from monitoringapp.transport.resolver import Lookup, Resolver
from tests.local_dns import UNANSWERED, DualStackNames, IPv6Names, LocalNames, SilentLookup, UnknownNames
from tests.local_http import (
    HUGE_CLAIMED,
    TRICKLED_BODY,
    ClosingServer,
    LocalProxy,
    LocalServer,
    local_proxy,
    local_server,
    refused_port,
)
from tests.local_socks import LocalSocksProxy, local_socks_proxy


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(hang_for=5.0) as running:
        yield running


def test_200_is_available_with_its_status_and_a_response_time(server: LocalServer, prober: HttpProber) -> None:
    outcome = prober.probe(server.url("/ok"), 2.0)
    assert (outcome.status, outcome.error, outcome.available) == (200, None, True)
    assert outcome.response_time_ms is not None and 0 < outcome.response_time_ms < 2000


def test_500_is_a_response_but_not_available(server: LocalServer, prober: HttpProber) -> None:
    outcome = prober.probe(server.url("/fail"), 2.0)
    assert (outcome.status, outcome.error, outcome.available) == (500, None, False)
    assert outcome.response_time_ms is not None


def test_keep_alive_reuses_one_connection_for_repeated_probes(server: LocalServer, prober: HttpProber) -> None:
    ports_before = set(server.client_ports)
    for _ in range(5):
        assert prober.probe(server.url("/ok"), 2.0).status == 200
    assert len(server.client_ports - ports_before) == 1


def test_a_prober_made_room_for_more_sites_than_it_was_sized_for_keeps_every_connection_alive(
        server: LocalServer) -> None:
    """Sized for one site (room for 10 connections to a host), then for 12 (a reload): 12 sites on one host,
    probed at once each round, keep their 12 connections. With room for 10, two connections of each round were
    dropped as they came back, and two new ones made at the next (urllib3: "Connection pool is full")."""
    ports_before = set(server.client_ports)
    prober = HttpProber(pool_size=1)
    try:
        prober.make_room_for(12)
        with ThreadPoolExecutor(12) as threads:
            for _ in range(3):  # each answer takes 0.3 s: the 12 probes of a round are all in flight together
                outcomes = list(threads.map(lambda n: prober.probe(server.url(f"/late?site={n}"), 5.0), range(12)))
                assert [outcome.status for outcome in outcomes] == [200] * 12
    finally:
        prober.close()
    assert len(server.client_ports - ports_before) == 12


def test_hanging_endpoint_times_out(server: LocalServer, prober: HttpProber) -> None:
    outcome = prober.probe(server.url("/hang"), 0.3)
    # Not cut, the probe would have its answer (200) once the server stops hanging, 5 s on.
    assert (outcome.status, outcome.response_time_ms, outcome.error) == (None, None, ErrorKind.TIMEOUT)


def test_the_requests_kept_prepared_are_those_of_the_sites_probed_lately_however_many_reloads_changed_them(
        server: LocalServer) -> None:
    # A long run whose config a reload changed every minute (a site added, one removed, a header changed): each new
    # (URL, request) was prepared and kept for ever, about 2 kB each.
    prober = HttpProber(prepared_turn_after=10)
    try:
        for reload in range(40):
            sites = [SiteConfig(server.url(f"/ok?site={n}&version={reload // (n + 1)}"), 1.0, 2.0) for n in range(3)]
            for _ in range(5):
                for site in sites:
                    assert prober.check(site).status == 200
        assert prober.prepared_requests <= 2 * len(sites) + 10
    finally:
        prober.close()


def probe_of_a_refused_port() -> ProbeOutcome:
    """A probe of a port nothing listens on, by a prober of its own."""
    client = HttpProber()
    try:
        return client.probe(f"http://127.0.0.1:{refused_port()}/", 2.0)
    finally:
        client.close()


def test_refused_port_is_a_connection_error_that_says_so() -> None:
    outcome = probe_of_a_refused_port()
    assert (outcome.status, outcome.response_time_ms, outcome.error, outcome.detail) == (
        None, None, ErrorKind.CONNECTION, "Connection refused")


def test_a_failed_probe_walks_its_errors_chain_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Its kind, its lookup and its reason were each found by walking the chain again: four walks, a tenth of a refused
    # connection's probe (`python -m bench.failing refusing 1000`).
    walks = []
    walk = errors.carried_errors

    def counted(error: BaseException) -> list[BaseException]:
        walks.append(error)
        return walk(error)

    for module in (http_probe, errors, resolver):
        monkeypatch.setattr(module, "carried_errors", counted)
    outcome = probe_of_a_refused_port()
    assert (outcome.error, outcome.detail, len(walks)) == (ErrorKind.CONNECTION, "Connection refused", 1)


def test_a_refused_connection_is_raised_as_requests_raises_it_with_no_retry_counted_around_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # requests' one attempt (`Retry(0)`) was counted and its error wrapped in a MaxRetryError: a tenth of a refused
    # connection's probe. The exception is requests' as before, the outcome the same.
    raised: list[BaseException] = []
    walk = errors.carried_errors

    def kept(error: BaseException) -> list[BaseException]:
        raised.append(error)
        return walk(error)

    monkeypatch.setattr(http_probe, "carried_errors", kept)
    outcome = probe_of_a_refused_port()
    assert (outcome.error, outcome.detail) == (ErrorKind.CONNECTION, "Connection refused")
    assert isinstance(raised[0], requests.ConnectionError)
    chain = walk(raised[0])
    assert any(isinstance(cause, urllib3.exceptions.NewConnectionError) for cause in chain)
    assert not any(isinstance(cause, urllib3.exceptions.MaxRetryError) for cause in chain)


@pytest.mark.parametrize(("reply", "detail"), [
    (b"", "Remote end closed connection without response"),
    (b"HELLO\r\n", "the answer is not HTTP (its status line or a header line cannot be read)"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial", "the answer ended before its body did"),
], ids=["no answer", "not HTTP", "body cut short"])
def test_a_server_that_breaks_the_exchange_is_a_connection_error_that_says_how(reply: bytes, detail: str) -> None:
    # The kind alone (`connection`) told none of these from a refusal; the messages of urllib3 and requests, which
    # quote the URL (and so a password), are not the detail: fixed words are.
    server = ClosingServer(reply)
    prober = HttpProber()
    try:
        outcome = prober.check(checked(f"http://ops:pw-secret@127.0.0.1:{server.port}/", bodyContains="x"))
    finally:
        prober.close()
        server.stop()
    assert (outcome.available, outcome.status, outcome.error, outcome.detail) == (
        False, None, ErrorKind.CONNECTION, detail)


def test_redirect_chain_is_followed_to_the_final_status(server: LocalServer, prober: HttpProber) -> None:
    requests_before = server.requests
    outcome = prober.probe(server.url("/redirect/4"), 2.0)
    assert (outcome.status, outcome.error) == (200, None)
    assert server.requests - requests_before == 5


def test_the_connections_of_a_redirects_hops_are_kept_alive_for_the_next_probes(
        server: LocalServer, prober: HttpProber) -> None:
    ports_before = set(server.client_ports)
    first = prober.probe(server.url("/redirect/2"), 2.0)
    # One connection per hop: each stays with its probe until the probe ends (the watchdog's rule), then goes
    # back to the pool, its answer read to its end.
    hops = server.client_ports - ports_before
    assert ((first.status, first.error), len(hops)) == ((200, None), 3)
    outcomes = [prober.probe(server.url("/redirect/2"), 2.0) for _ in range(3)]
    assert [(outcome.status, outcome.error) for outcome in outcomes] == [(200, None)] * 3
    assert server.client_ports - ports_before == hops  # 9 more requests, no new connection


def test_a_redirect_whose_body_trickles_is_followed_at_once_and_its_connection_dropped(
        server: LocalServer, prober: HttpProber) -> None:
    ports_before = set(server.client_ports)
    requests_before = server.requests
    outcomes = [prober.probe(server.url("/redirect-trickled"), 3.0) for _ in range(2)]
    # Its body not read to the end (it would take 5 s, past the timeout): the redirect followed all the same,
    # as when no body was read at all, and its connection not used again.
    assert [(outcome.status, outcome.error) for outcome in outcomes] == [(200, None)] * 2
    assert server.requests - requests_before == 4
    # The first redirect's connection dropped, /ok's kept; the second redirect came on that one and dropped it, so
    # its /ok had a new one.
    assert len(server.client_ports - ports_before) == 3


def test_redirect_loop_gives_up_as_redirects_and_says_where_it_went(server: LocalServer, prober: HttpProber) -> None:
    # Its detail was None: the alert said the site was down, and nothing of why.
    outcome = prober.probe(server.url("/loop"), 2.0)
    assert (outcome.status, outcome.response_time_ms, outcome.error) == (None, None, ErrorKind.REDIRECTS)
    assert outcome.detail == f"more than 10 redirects (the last to {server.url('/loop')})"


def test_a_redirect_loop_behind_a_password_says_where_it_went_without_the_password(server: LocalServer,
                                                                                    prober: HttpProber) -> None:
    outcome = prober.check(checked(server.url("/loop").replace("//", "//ops:s3cret@", 1)))
    assert outcome.detail == f"more than 10 redirects (the last to {server.url('/loop').replace('//', '//ops:***@')})"


@pytest.mark.parametrize(("encoding", "body", "why"), [
    ("gzip", b"not gzip at all", "incorrect header check"),
    ("deflate", b"\x78\x9c not deflate", "invalid stored block lengths"),
], ids=["gzip", "deflate"])
def test_a_body_that_is_not_the_encoding_it_claims_fails_the_body_conditions_saying_so(
        encoding: str, body: bytes, why: str) -> None:
    # It failed as kind `other` with no detail at all (urllib3's DecodeError said nothing a probe kept); it is the
    # exchange's fault, as an answer that is not HTTP or ends before its body is: `connection`, in its own words.
    with local_server() as server:
        server.raw_body, server.raw_headers = body, {"Content-Encoding": encoding}
        prober = HttpProber(pool_size=1)
        try:
            judged = prober.check(checked(server.url("/bytes"), bodyContains="ok"))
            unread = prober.check(checked(server.url("/bytes")))
        finally:
            prober.close()
    assert (judged.available, judged.error, judged.detail) == (
        False, ErrorKind.CONNECTION, f"the body is not the {encoding} its Content-Encoding says ({why})")
    assert (unread.available, unread.status) == (True, 200)  # a site that reads no body does not decode it


def test_huge_body_is_not_downloaded(server: LocalServer, prober: HttpProber) -> None:
    responses = len(server.huge_sent)
    outcome = prober.probe(server.url("/huge"), 5.0)
    assert (outcome.status, outcome.error) == (200, None)
    # The server stops writing once the client hangs up; what it got out is socket buffers, not 1 GB.
    sent = wait_until(lambda: server.huge_sent[responses:], 10, "the huge response's end")
    assert BODY_LIMIT <= sent[0] < HUGE_CLAIMED // 16


def test_body_limit_bounds_what_is_read_from_a_huge_response(server: LocalServer) -> None:
    client = HttpProber(body_limit=1024)
    try:
        response = client.session.get(server.url("/huge"), stream=True, timeout=2.0)
        client._read_bounded(response.raw, time.perf_counter() + 2.0, keep=False)
        assert response.raw.tell() == 1025  # the limit, and one byte to tell a larger body from one of 1 kB
        response.close()
    finally:
        client.close()


def test_trickling_body_is_cut_at_the_timeout(server: LocalServer, prober: HttpProber) -> None:
    trickles = len(server.body_trickled)
    outcome = prober.probe(server.url("/trickle"), 0.4)
    assert (outcome.status, outcome.error) == (None, ErrorKind.TIMEOUT)
    # The server meant to trickle for 10 s: the probe hung up long before, as its writes found.
    sent = wait_until(lambda: server.body_trickled[trickles:], 15, "the trickle's end")
    assert sent[0] < TRICKLED_BODY, "the trickle ran to its end: the probe was not cut"


@pytest.mark.parametrize(("error", "kind"), [
    (requests.TooManyRedirects("loop"), ErrorKind.REDIRECTS),
    (requests.ConnectionError(urllib3.exceptions.NameResolutionError("h", None, socket.gaierror(-2, "x"))),  # type: ignore[arg-type]
     ErrorKind.DNS),
    (requests.exceptions.SSLError(ssl.SSLCertVerificationError("bad cert")), ErrorKind.TLS),
    (requests.ConnectTimeout("connect timed out"), ErrorKind.TIMEOUT),
    (requests.ReadTimeout("read timed out"), ErrorKind.TIMEOUT),
    (requests.ConnectionError(ConnectionResetError(104, "reset")), ErrorKind.CONNECTION),
    (requests.exceptions.ChunkedEncodingError("broken"), ErrorKind.CONNECTION),
    (ValueError("not a network error"), ErrorKind.OTHER),
])
def test_classify_names_the_error_kind_from_the_exception_chain(error: BaseException, kind: ErrorKind) -> None:
    assert classify(error) is kind


def _connect_errors() -> list[Exception]:
    connection = urllib3.connection.HTTPConnection("127.0.0.1", 9)
    return [
        urllib3.exceptions.ConnectTimeoutError(connection, "Connection to 127.0.0.1 timed out."),
        urllib3.exceptions.NewConnectionError(connection, "Failed to establish a new connection: refused"),
        urllib3.exceptions.NameResolutionError("nowhere.invalid", connection, socket.gaierror(-2, "not known")),
        urllib3.exceptions.ProxyError("Unable to connect to proxy", ConnectionRefusedError(111, "refused")),
        urllib3.exceptions.SSLError(ssl.SSLError(1, "handshake failure")),
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
    ]


@pytest.mark.parametrize("error", _connect_errors(), ids=lambda error: type(error).__name__)
def test_an_attempts_error_raised_as_it_is_maps_to_what_requests_makes_of_it_wrapped_in_max_retries(
        error: Exception) -> None:
    # One attempt's failure is raised as urllib3 raised it (`ONE_ATTEMPT`), not wrapped in a MaxRetryError as
    # requests' `Retry(0)` had it: the same requests exception, and the same kind, either way.
    request = requests.Request("GET", "http://127.0.0.1:9/").prepare()
    wrapped = _as_requests_error(urllib3.exceptions.MaxRetryError(None, "/", error), request)  # type: ignore[arg-type]
    raised = _as_requests_error(error, request)
    assert type(raised) is type(wrapped)
    assert classify(raised) is classify(wrapped) is not ErrorKind.OTHER


def test_https_to_a_plain_http_port_is_a_tls_error(server: LocalServer, prober: HttpProber) -> None:
    outcome = prober.probe(f"https://127.0.0.1:{server.port}/ok", 2.0)
    assert (outcome.status, outcome.response_time_ms, outcome.error) == (None, None, ErrorKind.TLS)


def test_every_probe_says_who_sends_it_and_from_which_location(server: LocalServer) -> None:
    from monitoringapp import __version__

    local, eu = HttpProber(), HttpProber(location="eu-west")
    try:
        local.probe(server.url("/located"), 2.0)
        eu.probe(server.url("/located"), 2.0)
    finally:
        local.close()
        eu.close()
    assert set(server.served) == {("/located", "local"), ("/located", "eu-west")}
    assert local.session.headers["User-Agent"] == f"monitoringApp/{__version__} (location=local)"


# ---- proxies: as every HTTP tool honours them, read once at start -----------------------------------------


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalProxy]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with local_proxy() as running:
        yield running


def test_http_proxy_from_the_environment_carries_the_probe(proxy: LocalProxy, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    prober = HttpProber()
    try:
        # A name nobody resolves: only the proxy can answer it (it was a `dns` error).
        outcome = prober.probe("http://behind-the-proxy.invalid/health", 2.0)
    finally:
        prober.close()
    assert (outcome.status, outcome.error) == (200, None)
    assert proxy.requested == ["http://behind-the-proxy.invalid/health"]


def test_an_http_proxy_that_refuses_is_said_as_the_proxys_refusal_not_the_sites() -> None:
    prober = HttpProber(proxies=Proxies({"all": f"http://127.0.0.1:{refused_port()}"}))
    try:
        outcome = prober.probe("http://behind-the-proxy.invalid/health", 2.0)
    finally:
        prober.close()
    assert (outcome.status, outcome.error, outcome.detail) == (None, ErrorKind.CONNECTION, "proxy: Connection refused")


def test_a_proxys_password_echoed_back_by_the_proxy_is_never_in_a_detail(server: LocalServer) -> None:
    # The local server, asked for an absolute URL, plays a proxy that echoes the request it got: its
    # `Proxy-Authorization` (`Basic base64(puser:pr0xy-s3cret)`) went whole into the detail, stored and alerted, as a
    # proxy's error page quoting the request would put it.
    prober = HttpProber(proxies=Proxies({"http": f"http://puser:pr0xy%2Fs3cret@127.0.0.1:{server.port}"}))
    try:
        site = checked(f"http://127.0.0.1:{refused_port()}/echo",
                       json=[{"path": "$.headers.Proxy-Authorization", "equals": "x"}])
        echoed = prober.check(site)
        decoded = prober.check(checked(f"http://127.0.0.1:{refused_port()}/echo",
                                       json=[{"path": "$.method", "equals": "pr0xy/s3cret"}]))
    finally:
        prober.close()
    assert (echoed.status, echoed.detail) == (200, '$.headers.Proxy-Authorization is "Basic ***", expected "x"')
    assert decoded.detail == '$.method is "GET", expected "***"'


def test_no_proxy_sends_matching_hosts_direct(proxy: LocalProxy, server: LocalServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "example.test,127.0.0.0/8")
    prober = HttpProber(resolver=Resolver(UnknownNames("www.example.test")))  # no DNS server outside asked
    try:
        direct = prober.probe(server.url("/fail"), 2.0)  # 500 from the server itself, not the proxy's 200
        proxied = prober.probe("http://a.other.test/", 2.0)
        also_direct = prober.probe("http://www.example.test/", 0.5)  # a suffix of no_proxy: direct, unresolved
    finally:
        prober.close()
    assert (direct.status, proxied.status, also_direct.error) == (500, 200, ErrorKind.DNS)
    assert proxy.requested == ["http://a.other.test/"]


def test_the_proxy_environment_is_read_once_when_the_prober_is_made(proxy: LocalProxy,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    prober = HttpProber(resolver=Resolver(UnknownNames("behind-the-proxy.invalid")))  # no DNS server outside asked
    monkeypatch.setenv("HTTP_PROXY", proxy.url)  # too late: probes stay cheap, no environment read each
    try:
        assert prober.probe("http://behind-the-proxy.invalid/", 0.5).error is ErrorKind.DNS
    finally:
        prober.close()
    assert proxy.requested == []


# -- checks: request options and conditions, end to end against the local server -----------------------------


def checked(url: str, environ: dict[str, str] | None = None, **keys: object) -> SiteConfig:
    """The one site of a config with `keys`, read as `-m` reads it."""
    document = {"websites": [{"URL": url, "timeout": 2.0, **keys}]}
    return parse_config(json.dumps(document), "c.json", environ or {}).sites[0]


def test_json_conditions_say_which_value_failed_and_why(server: LocalServer, prober: HttpProber) -> None:
    site = checked(server.url("/json"), json=[{"path": "$.status", "equals": "ok"},
                                              {"path": "$.queue.depth", "below": 1000}])
    up = prober.check(site)
    assert (up.available, up.status, up.error, up.detail) == (True, 200, None, None)
    server.json_body = {"status": "error", "queue": {"depth": 3}}
    try:
        down = prober.check(site)
        server.json_body = {"status": "ok", "queue": {"depth": 1200}}
        deep = prober.check(site)
        server.json_body = ["not", "an", "object"]
        missing = prober.check(site)
    finally:
        server.json_body = {"status": "ok", "queue": {"depth": 3}}
    assert (down.available, down.status, down.error) == (False, 200, ErrorKind.CONDITION)
    assert down.detail == '$.status is "error", expected "ok"'
    assert deep.detail == "$.queue.depth is 1200, expected below 1000"
    assert missing.detail == "$.status not found"


def test_a_body_compressed_though_the_probe_asked_for_none_is_decoded_before_it_is_judged(
        server: LocalServer, prober: HttpProber) -> None:
    outcome = prober.check(checked(server.url("/gzipped"), json=[{"path": "$.status", "equals": "ok"}]))
    assert (outcome.available, outcome.detail) == (True, None)


@pytest.mark.parametrize("body", [b'\xef\xbb\xbf{"status": "ok"}', '{"status": "ok"}'.encode("utf-16")],
                         ids=["utf-8-byte-order-mark", "utf-16"])
def test_a_json_body_behind_a_byte_order_mark_is_judged_alike_with_a_body_matches_beside_it(body: bytes) -> None:
    # bodyMatches decoded the body as UTF-8 and handed that text to the JSON parser, which refuses a text that
    # begins with a byte order mark (and reads UTF-16 only from bytes): the same JSON body was up for a site with a
    # json condition and down for one that also had a bodyMatches.
    with local_server() as server:
        server.raw_body = body
        prober = HttpProber(pool_size=1)
        try:
            alone = prober.check(checked(server.url("/bytes"), json=[{"path": "$.status", "equals": "ok"}]))
            beside = prober.check(checked(server.url("/bytes"), bodyMatches=".",
                                          json=[{"path": "$.status", "equals": "ok"}]))
            wrong = prober.check(checked(server.url("/bytes"), bodyMatches=".",
                                         json=[{"path": "$.status", "equals": "error"}]))
        finally:
            prober.close()
    assert (alone.available, alone.detail) == (True, None)
    assert (beside.available, beside.detail) == (True, None)
    assert (wrong.available, wrong.detail) == (False, '$.status is "ok", expected "error"')


def test_a_byte_order_mark_is_not_the_text_body_matches_anchors_at() -> None:
    with local_server() as server:
        server.raw_body = b'\xef\xbb\xbf{"status": "ok"}'
        prober = HttpProber(pool_size=1)
        try:
            outcome = prober.check(checked(server.url("/bytes"), bodyMatches=r'^\{"status"'))
        finally:
            prober.close()
    assert (outcome.available, outcome.detail) == (True, None)


@pytest.mark.parametrize(("content_type", "body"), [
    ("text/html; charset=ISO-8859-1", "<p>Café ouvert</p>".encode("latin-1")),
    ('text/plain; charset="windows-1252"', "Café ouvert \u2013 24h".encode("cp1252")),
    ("text/plain; charset=utf-16", "Café ouvert".encode("utf-16")),
    ("text/html; charset=Shift_JIS", "カフェ ouvert".encode("shift_jis")),
    ("text/html; charset=utf-8", "Café ouvert".encode()),
    ("text/html", "Café ouvert".encode()),  # none named: UTF-8
], ids=["latin-1", "windows-1252", "utf-16", "shift-jis", "utf-8", "none"])
def test_a_body_is_read_in_the_charset_its_content_type_names(content_type: str, body: bytes) -> None:
    # Matched as UTF-8 whatever the answer said: bodyContains "Café" was not found in a Latin-1 page that showed it.
    word = "カフェ" if "Shift_JIS" in content_type else "Café"
    with local_server() as server:
        server.raw_body, server.raw_headers = body, {"Content-Type": content_type}
        prober = HttpProber(pool_size=1)
        try:
            contains = prober.check(checked(server.url("/bytes"), bodyContains=word))
            matches = prober.check(checked(server.url("/bytes"), bodyMatches=f"^(<p>)?{word} ouvert"))
            closed = prober.check(checked(server.url("/bytes"), bodyNotContains=f"{word} ouvert"))
            absent = prober.check(checked(server.url("/bytes"), bodyContains="fermé"))
        finally:
            prober.close()
    assert (contains.available, contains.detail) == (True, None)
    assert (matches.available, matches.detail) == (True, None)
    assert (closed.available, closed.detail) == (False, f'bodyNotContains "{word} ouvert" found')
    assert (absent.available, absent.detail) == (False, 'bodyContains "fermé" not found')


def test_expected_status_makes_a_401_up_and_a_200_down(server: LocalServer, prober: HttpProber) -> None:
    login = prober.check(checked(server.url("/status/401"), expectedStatus=[401]))
    assert (login.available, login.status, login.error) == (True, 401, None)
    ranged = prober.check(checked(server.url("/ok"), expectedStatus=["201-299", 401]))
    assert (ranged.available, ranged.status, ranged.error) == (False, 200, ErrorKind.STATUS)
    assert ranged.detail == "status 200, expected 201-299, 401"
    # Without expectedStatus a status of 400 or more is down as it always was: no error kind, no detail.
    plain = prober.check(checked(server.url("/status/503")))
    assert (plain.available, plain.status, plain.error, plain.detail) == (False, 503, None, None)


def test_a_slower_answer_than_max_response_time_is_down_as_slow(server: LocalServer, prober: HttpProber) -> None:
    server.late_for = 0.3
    outcome = prober.check(checked(server.url("/late"), maxResponseTime=0.1))
    assert (outcome.available, outcome.status, outcome.error) == (False, 200, ErrorKind.SLOW)
    assert outcome.detail is not None and outcome.detail.endswith("more than maxResponseTime 0.1 s")
    assert outcome.response_time_ms is not None and outcome.response_time_ms >= 300


def test_body_conditions_read_a_bounded_body_and_say_when_it_was_too_large(server: LocalServer,
                                                                           prober: HttpProber) -> None:
    found = prober.check(checked(server.url("/ok"), bodyContains="ok", bodyMatches="^o.$"))
    assert (found.available, found.detail) == (True, None)
    missing = prober.check(checked(server.url("/fail"), bodyContains="ok", expectedStatus=[500]))
    assert (missing.available, missing.error, missing.detail) == (False, ErrorKind.CONDITION,
                                                                  'bodyContains "ok" not found')
    unmatched = prober.check(checked(server.url("/ok"), bodyMatches="^ko"))
    assert unmatched.detail == 'bodyMatches "^ko" not matched'
    # 100 kB whose "ok" is past the 64 kB read: never downloaded whole, and said so.
    large = prober.check(checked(server.url("/large"), bodyContains="ok"))
    assert (large.available, large.status, large.error) == (False, 200, ErrorKind.CONDITION)
    assert large.detail == "body larger than 64 kB: bodyContains not checked (only the first bytes are read)"


def test_a_body_that_holds_what_it_must_not_is_down_saying_what_was_found(server: LocalServer) -> None:
    # blackbox's fail_if_body_matches_regexp, an inverted keyword: a 200 whose page says "error" is down.
    prober = HttpProber(pool_size=1)
    server.json_body = {"status": "ok", "detail": "ERROR: disk full"}
    try:
        clean = prober.check(checked(server.url("/ok"), bodyNotContains="error", bodyNotMatches="(?i)err(or)?"))
        found = prober.check(checked(server.url("/json"), bodyNotContains="ERROR"))
        matched = prober.check(checked(server.url("/json"), bodyNotMatches="(?i)error: [a-z ]+"))
        large = prober.check(checked(server.url("/large"), bodyNotContains="error"))
    finally:
        server.json_body = {"status": "ok", "queue": {"depth": 3}}
        prober.close()
    assert (clean.available, clean.detail) == (True, None)
    assert (found.available, found.status, found.error, found.detail) == (
        False, 200, ErrorKind.CONDITION, 'bodyNotContains "ERROR" found')
    assert (matched.available, matched.detail) == (
        False, 'bodyNotMatches "(?i)error: [a-z ]+" matched "ERROR: disk full"')
    # Past the 64 kB read, its absence cannot be told: not checked, and said so.
    assert (large.available, large.detail) == (
        False, "body larger than 64 kB: bodyNotContains not checked (only the first bytes are read)")


def test_method_headers_from_the_environment_and_a_json_body_are_sent_and_the_secret_never_shown(
        server: LocalServer, prober: HttpProber) -> None:
    site = checked(server.url("/echo"), {"API_TOKEN": "s3cret-token"}, method="POST",
                   headers={"Authorization": "Bearer ${API_TOKEN}", "X-Team": "ops"}, body={"ping": 1},
                   json=[{"path": "$.headers.Authorization", "equals": "nothing like it"}])
    outcome = prober.check(site)
    # The condition fails on purpose: its reason quotes the header the server echoed, secret and all.
    assert outcome.detail == '$.headers.Authorization is "Bearer ***", expected "nothing like it"'
    echoed = requests.post(server.url("/echo"), timeout=2).json()  # the server itself echoes faithfully
    assert echoed["method"] == "POST"
    sent = prober.check(checked(server.url("/echo"), {"API_TOKEN": "s3cret-token"}, method="POST",
                                headers={"Authorization": "Bearer ${API_TOKEN}"}, body={"ping": 1},
                                json=[{"path": "$.method", "equals": "POST"},
                                      {"path": "$.body", "equals": '{"ping": 1}'},
                                      {"path": "$.headers.Content-Type", "equals": "application/json"},
                                      {"path": "$.headers.Accept-Encoding", "equals": "identity"}]))
    assert (sent.available, sent.detail) == (True, None)
    assert "s3cret-token" not in repr(site) and "s3cret-token" not in json.dumps(
        parse_config(json.dumps({"websites": [{"URL": server.url("/echo"), "headers": {
            "Authorization": "Bearer ${API_TOKEN}"}}]}), "c.json", {"API_TOKEN": "s3cret-token"}).effective())


def test_a_header_that_may_hold_a_secret_written_as_is_is_never_in_a_detail(server: LocalServer,
                                                                           prober: HttpProber) -> None:
    # `--check` shows such a header as `***`, as it shows one from the environment; yet a server that echoed it put
    # it whole in the detail (stored, printed, alerted), where only a `${NAME}`'s value was hidden.
    headers = {"X-Api-Key": "literal-key-123", "Authorization": "Bearer tok-456", "Cookie": "sid=abc-789; theme=dark",
               "X-Team": "ops-team"}
    details = [prober.check(checked(server.url("/echo"), headers=headers,
                                    json=[{"path": f"$.headers.{name}", "equals": "x"}])).detail for name in headers]
    assert details == ['$.headers.X-Api-Key is "***", expected "x"',
                       '$.headers.Authorization is "Bearer ***", expected "x"',
                       '$.headers.Cookie is "***", expected "x"',  # no scheme before a space: all of it
                       '$.headers.X-Team is "ops-team", expected "x"']  # a name that says no secret: quoted as sent


def test_a_url_password_echoed_back_decoded_or_as_basic_credentials_is_never_in_a_detail(
        server: LocalServer, prober: HttpProber) -> None:
    # The probe sends the URL's user and password as `Basic base64(ops:pa$$word)`: a server that echoes it, or the
    # password decoded, showed it in the detail (stored, printed, alerted) in a form only as-written was hidden.
    url = server.url("/echo").replace("://", "://ops:pa%24%24word@")
    sent = prober.check(checked(url, json=[{"path": "$.headers.Authorization", "equals": "Basic b3BzOnBhJCR3b3Jk"}]))
    assert (sent.available, sent.detail) == (True, None)  # what the probe sends: the form to hide
    echoed = prober.check(checked(url, json=[{"path": "$.headers.Authorization", "equals": "x"}]))
    assert echoed.detail == '$.headers.Authorization is "Basic ***", expected "x"'
    decoded = prober.check(checked(url, json=[{"path": "$.method", "equals": "pa$$word"}]))
    assert decoded.detail == '$.method is "GET", expected "***"'


def test_a_password_echoed_html_escaped_by_a_login_page_is_never_in_a_detail(server: LocalServer,
                                                                            prober: HttpProber) -> None:
    # A page that echoes the password it was sent, HTML-escaped: `p&amp;ss&lt;w0rd` was quoted whole in the detail.
    server.raw_body = b"<p>wrong password: p&amp;ss&lt;w0rd</p>"
    url = server.url("/bytes").replace("://", "://ops:p%26ss%3Cw0rd@")
    outcome = prober.check(checked(url, bodyNotMatches="wrong password: [^<]*"))
    assert outcome.detail == 'bodyNotMatches "wrong password: [^<]*" matched "wrong password: ***"'


def test_a_short_password_leaves_a_detail_readable_and_is_hidden_where_it_stands_alone(
        server: LocalServer, prober: HttpProber) -> None:
    # A password `0` was replaced inside every number: `status 5******, expected 2******`, stored, printed and
    # alerted, its stars telling the password itself.
    url = server.url("/status/500").replace("://", "://ops:0@")
    outcome = prober.check(checked(url, expectedStatus=[200]))
    assert outcome.detail == "status 500, expected 200"
    echoed = prober.check(checked(server.url("/echo").replace("://", "://ops:0@"),
                                  json=[{"path": "$.method", "equals": "0"}]))
    assert echoed.detail == '$.method is "GET", expected "***"'


def test_a_token_a_sites_url_takes_from_the_environment_is_sent_and_never_in_a_detail(
        server: LocalServer, prober: HttpProber) -> None:
    # An API that takes its key in the query only: the URL as written (`${API_KEY}`) is the site's key, the value
    # is what the probe requests, and a server echoing its request target shows `***` in the detail.
    site = checked(server.url("/echo?api_key=${API_KEY}"), {"API_KEY": "k-123456789"},
                   json=[{"path": "$.target", "equals": "x"}])
    outcome = prober.check(site)
    assert (site.key, outcome.status) == (server.url("/echo?api_key=${API_KEY}"), 200)
    assert outcome.detail == '$.target is "/echo?api_key=***", expected "x"'
    sent = prober.check(checked(server.url("/echo?api_key=${API_KEY}"), {"API_KEY": "k-123456789"},
                                json=[{"path": "$.target", "equals": "/echo?api_key=k-123456789"}]))
    assert (sent.available, sent.detail) == (True, None)


def test_redirects_are_followed_as_browsers_do_or_not_at_all(server: LocalServer, prober: HttpProber) -> None:
    kept = prober.check(checked(server.url("/redirect/2"), followRedirects=False))
    assert (kept.available, kept.status) == (True, 302)
    # A POST answered 303 is followed by a GET, without its body.
    other = prober.check(checked(server.url("/see-other"), method="POST", body="data",
                                 json=[{"path": "$.method", "equals": "GET"}, {"path": "$.body", "equals": None}]))
    assert (other.available, other.status, other.detail) == (True, 200, None)
    head = prober.check(checked(server.url("/ok"), method="HEAD"))
    assert (head.available, head.status) == (True, 200)


@pytest.mark.parametrize("redirect", ["/temporary", "/permanent"])
def test_a_307_or_308_repeats_the_request_with_its_content_type_to_the_same_site_and_to_another(
        server: LocalServer, prober: HttpProber, redirect: str) -> None:
    # The hop was prepared from the site's own headers only: a JSON body went again without the Content-Type
    # application/json the probe had added, as to a FastAPI route that redirects /items to /items/ (307): 422.
    echoed = [{"path": "$.method", "equals": "POST"}, {"path": "$.body", "equals": '{"q": "ping"}'},
              {"path": "$.headers.Content-Type", "equals": "application/json"},
              {"path": "$.headers.Accept-Encoding", "equals": "identity"}]
    same = prober.check(checked(server.url(redirect), method="POST", body={"q": "ping"}, headers={"X-Trace": "1"},
                                json=[*echoed, {"path": "$.headers.X-Trace", "equals": "1"}]))
    assert (same.available, same.detail) == (True, None)
    # To another host, the site's own headers stay behind (they may hold a secret); what the body needs goes along.
    elsewhere = server.url("/echo", host="localhost")
    other = prober.check(checked(f"{server.url(redirect)}?to={elsewhere}", method="POST", body={"q": "ping"},
                                 headers={"X-Trace": "1"},
                                 json=[*echoed, {"path": "$.headers.X-Trace", "exists": False}]))
    assert (other.available, other.detail) == (True, None)


def test_a_body_of_exactly_the_limit_is_read_whole_and_judged(server: LocalServer, prober: HttpProber) -> None:
    # 64 kB ending in "ok": all of it read, yet it was called "larger than 64 kB" and its conditions not checked.
    outcome = prober.check(checked(server.url("/limit"), bodyContains="ok"))
    assert (outcome.available, outcome.status, outcome.error, outcome.detail) == (True, 200, None, None)
    larger = prober.check(checked(server.url("/large"), bodyMatches="^x+$"))
    assert (larger.available, larger.detail) == (
        False, "body larger than 64 kB: bodyMatches not checked (only the first bytes are read)")


def test_a_redirect_to_a_location_that_is_no_url_is_a_failing_probe_that_says_so(server: LocalServer,
                                                                                  prober: HttpProber) -> None:
    # urljoin raised ValueError out of the probe's thread: a traceback per tick, and no probe stored.
    outcome = prober.check(checked(server.url("/bad-location")))
    assert (outcome.available, outcome.status, outcome.error, outcome.detail) == (
        False, None, ErrorKind.REDIRECTS, "redirect to a Location that is no URL (Invalid IPv6 URL): http://[::1/")
    # One with a login in it (not the site's own, which is hidden anyway) was quoted whole, its password too.
    with_login = prober.check(checked(server.url("/temporary?to=http://sso:redirect-pw@[::1/")))
    assert with_login.detail == "redirect to a Location that is no URL (Invalid IPv6 URL): http://sso:***@[::1/"


# -- TLS: certificates of a test CA (trustme), read from the connection the probe makes -------------------------

DAY = 86400.0


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, str]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


def tls_server(ca: trustme.CA, *identities: str, not_before: datetime | None = None,
               not_after: datetime | None = None) -> contextlib.AbstractContextManager[LocalServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*identities, not_before=not_before, not_after=not_after).configure_cert(context)
    return local_server(tls=context)


@pytest.mark.parametrize(("path", "connections"), [("/ok", 1), ("/close", 2)],
                         ids=["kept-alive", "closed-after-each-answer"])
def test_a_certificate_expiring_in_three_days_is_read_from_the_probes_own_connection(
        authority: tuple[trustme.CA, str], path: str, connections: int) -> None:
    # `/close` (as HTTP/1.0 answers): http.client hands the socket over to the response and the connection holds
    # none, so no notAfter was read, and no certificate warning ever told, for a server that closes connections.
    ca, ca_file = authority
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    with tls_server(ca, "127.0.0.1", not_after=expires) as server:
        prober = HttpProber(pool_size=1)
        try:
            site = checked(server.url(path), caFile=ca_file)
            first, second = prober.check(site), prober.check(site)
        finally:
            prober.close()
        assert (first.available, first.status, first.certificate_expiry) == (True, 200, expires.timestamp())
        assert second.certificate_expiry == expires.timestamp()
        assert len(server.client_ports) == connections, "kept alive: one connection, one handshake, for both"


def test_a_connection_older_than_reconnect_after_is_replaced_so_a_renewed_certificate_is_seen(
        authority: tuple[trustme.CA, str]) -> None:
    ca, ca_file = authority
    with tls_server(ca, "127.0.0.1") as server:
        prober = HttpProber(pool_size=1, reconnect_after=0.0)
        try:
            outcomes = [prober.check(checked(server.url("/ok"), caFile=ca_file)) for _ in range(3)]
        finally:
            prober.close()
        assert all(o.available and o.certificate_expiry is not None for o in outcomes)
        assert len(server.client_ports) == 3


@pytest.mark.parametrize(("identities", "valid", "reason"), [
    (("localhost",), (-10, -1), "certificate verify failed: certificate has expired"),
    (("wrong.test",), None, "certificate verify failed: Hostname mismatch, certificate is not valid for "
                            "'localhost'"),
], ids=["expired", "wrong-host"])
def test_a_refused_certificate_is_a_tls_failure_with_the_verifiers_reason(
        authority: tuple[trustme.CA, str], identities: tuple[str, ...], valid: tuple[int, int] | None,
        reason: str) -> None:
    ca, ca_file = authority
    now = datetime.now(UTC)
    not_before, not_after = (now + timedelta(days=valid[0]), now + timedelta(days=valid[1])) if valid else (None, None)
    with tls_server(ca, *identities, not_before=not_before, not_after=not_after) as server:
        prober = HttpProber(pool_size=1)
        try:
            refused = prober.check(checked(server.url("/ok", host="localhost"), caFile=ca_file))
            unverified = prober.check(checked(server.url("/ok", host="localhost"), verifyTls=False))
        finally:
            prober.close()
    assert (refused.available, refused.status, refused.error, refused.detail) == (False, None, ErrorKind.TLS, reason)
    # verifyTls false: the site answers, and the certificate's date is still read.
    assert (unverified.available, unverified.status) == (True, 200)
    assert unverified.certificate_expiry is not None


def test_an_unknown_authority_is_refused_without_the_ca_file(authority: tuple[trustme.CA, str]) -> None:
    ca, _ = authority
    with tls_server(ca, "127.0.0.1") as server:
        prober = HttpProber(pool_size=1)
        try:
            outcome = prober.check(checked(server.url("/ok")))
        finally:
            prober.close()
    assert (outcome.error, outcome.detail) == (
        ErrorKind.TLS, "certificate verify failed: unable to get local issuer certificate")


def test_a_server_that_asks_for_a_client_certificate_is_shown_the_sites_own(authority: tuple[trustme.CA, str],
                                                                             tmp_path: Path) -> None:
    ca, ca_file = authority
    client = ca.issue_cert("monitor@example.test")
    client.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "both.pem"))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: no client certificate from our authority, no answer
    ca.configure_trust(context)
    with local_server(tls=context) as server:
        prober = HttpProber(pool_size=1)
        try:
            together = prober.check(checked(server.url("/ok"), caFile=ca_file, clientCert=str(tmp_path / "both.pem")))
            apart = prober.check(checked(server.url("/ok"), caFile=ca_file, clientCert=str(tmp_path / "cert.pem"),
                                         clientKey=str(tmp_path / "key.pem")))
            without = prober.check(checked(server.url("/ok"), caFile=ca_file))
        finally:
            prober.close()
    assert (together.available, together.status, together.certificate_expiry is not None) == (True, 200, True)
    assert (apart.available, apart.status) == (True, 200)
    # Its connections are its own: the site without the certificate gets none of the others' kept-alive ones.
    assert (without.available, without.error) == (False, ErrorKind.TLS)


def test_certificate_not_after_reads_utc_and_generalized_times() -> None:
    ca = trustme.CA()
    for moment in (datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC), datetime(2051, 1, 2, 3, 4, 5, tzinfo=UTC)):
        der = ssl.PEM_cert_to_DER_cert(ca.issue_cert("a.test", not_after=moment).cert_chain_pems[0].bytes().decode())
        assert certificate_not_after(der) == moment.timestamp()
    assert certificate_not_after(b"\x30\x03\x02\x01\x00") is None


# -- SOCKS proxies: as curl has them (`socks5h://` the proxy resolves the site's name, `socks5://` the prober does) ---
# Before PySocks was a dependency, every probe through one failed as `connection` (requests' "Missing dependencies
# for SOCKS support"), saying nothing of why.

BEHIND_SOCKS = "behind-the-socks-proxy.test"  # known to the proxy's own table only: no DNS server is asked


@pytest.fixture
def socks_proxy() -> Iterator[LocalSocksProxy]:
    with local_socks_proxy(names={BEHIND_SOCKS: "127.0.0.1"}) as running:
        yield running


def socks_prober(proxy_url: str, lookup: Lookup | None = None) -> HttpProber:
    """A prober whose every probe goes through `proxy_url`, its names looked up by `lookup` (default: none of the
    site's, which only the proxy may resolve, exists)."""
    return HttpProber(proxies=Proxies({"all": proxy_url}), resolver=Resolver(lookup or UnknownNames(BEHIND_SOCKS)))


def test_a_socks5h_proxy_from_the_environment_carries_the_probe_and_resolves_the_sites_name(
        socks_proxy: LocalSocksProxy, server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALL_PROXY", socks_proxy.url("socks5h"))
    prober = HttpProber(resolver=Resolver(UnknownNames(BEHIND_SOCKS)))  # resolved here, it would be a `dns` failure
    try:
        outcome = prober.check(checked(server.url("/fail", host=BEHIND_SOCKS)))  # the server's own 500
    finally:
        prober.close()
    assert (outcome.status, outcome.error, outcome.available) == (500, None, False)
    assert socks_proxy.connects == [(BEHIND_SOCKS.encode(), server.port)]


def test_a_socks5_proxy_is_given_the_address_the_probers_own_resolver_found(
        socks_proxy: LocalSocksProxy, server: LocalServer) -> None:
    lookup = LocalNames("resolved-by-the-prober.test")
    prober = socks_prober(socks_proxy.url("socks5"), lookup)
    try:
        outcome = prober.check(checked(server.url("/ok", host="resolved-by-the-prober.test")))
    finally:
        prober.close()
    assert (outcome.status, outcome.available) == (200, True)
    assert socks_proxy.connects == [("127.0.0.1", server.port)]
    assert lookup.looked_up == ["resolved-by-the-prober.test", "127.0.0.1"]  # the site's name, the proxy's address


def test_through_a_socks5_proxy_each_of_the_sites_addresses_is_tried_in_turn_as_without_a_proxy(
        socks_proxy: LocalSocksProxy, server: LocalServer) -> None:
    # The site's name has ::1 first, which this proxy cannot reach (address type not supported): PySocks asked for
    # it alone, and the probe failed; a connection without a proxy goes on to 127.0.0.1.
    prober = socks_prober(socks_proxy.url("socks5"), DualStackNames("dual-stack.test"))
    try:
        outcome = prober.check(checked(server.url("/ok", host="dual-stack.test")))
    finally:
        prober.close()
    assert (outcome.status, outcome.available) == (200, True)
    assert socks_proxy.connects == [("::1", server.port), ("127.0.0.1", server.port)]


def test_https_through_a_socks_proxy_is_verified_and_its_certificate_read_over_one_kept_alive_connection(
        socks_proxy: LocalSocksProxy, authority: tuple[trustme.CA, str]) -> None:
    ca, ca_file = authority
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    with tls_server(ca, BEHIND_SOCKS, not_after=expires) as server:
        prober = socks_prober(socks_proxy.url("socks5h"))
        try:
            site = checked(server.url("/ok", host=BEHIND_SOCKS), caFile=ca_file)
            outcomes = [prober.check(site) for _ in range(2)]
        finally:
            prober.close()
    assert [(o.status, o.available, o.certificate_expiry) for o in outcomes] == [(200, True, expires.timestamp())] * 2
    assert socks_proxy.connects == [(BEHIND_SOCKS.encode(), server.port)]


def test_a_connection_through_a_socks_proxy_is_kept_alive_and_one_cut_at_its_deadline_is_never_used_again(
        socks_proxy: LocalSocksProxy, server: LocalServer) -> None:
    prober = socks_prober(socks_proxy.url("socks5h"))
    try:
        kept = [prober.check(checked(server.url("/ok", host=BEHIND_SOCKS))) for _ in range(2)]
        cut = prober.check(checked(server.url("/hang", host=BEHIND_SOCKS), timeout=0.3))  # on the kept connection
        after = prober.check(checked(server.url("/ok", host=BEHIND_SOCKS)))
    finally:
        prober.close()
    assert [(o.status, o.error) for o in [*kept, cut, after]] == [(200, None), (200, None), (None, ErrorKind.TIMEOUT),
                                                                  (200, None)]
    assert socks_proxy.connects == [(BEHIND_SOCKS.encode(), server.port)] * 2  # one tunnel, then a new one


def test_a_socks_proxys_login_is_sent_and_one_it_refuses_is_a_connection_failure_that_says_so(
        server: LocalServer) -> None:
    with local_socks_proxy(login=("ops", "s3cret")) as proxy:
        right, wrong = socks_prober(proxy.url(user="ops", password="s3cret")), socks_prober(
            proxy.url(user="ops", password="guessed"))
        try:
            up, refused = right.check(checked(server.url("/ok"))), wrong.check(checked(server.url("/ok")))
        finally:
            right.close()
            wrong.close()
    assert (up.status, up.available) == (200, True)
    assert (refused.status, refused.error, refused.detail) == (
        None, ErrorKind.CONNECTION, "SOCKS proxy: SOCKS5 authentication failed")
    assert proxy.logins == [("ops", "s3cret"), ("ops", "guessed")]


@pytest.mark.parametrize("host", ["[::1]", "ipv6-only.test"], ids=["an-ipv6-literal", "a-name-with-ipv6-only"])
def test_a_site_without_an_ipv4_address_through_a_socks4_proxy_is_a_connection_failure_that_says_why(
        socks_proxy: LocalSocksProxy, host: str) -> None:
    # A SOCKS4 proxy takes IPv4 addresses only. Before: a `dns` failure without a word, as if the name did not exist
    # (the lookup asked for IPv4 only), even for an address, which has no lookup to fail.
    lookup = IPv6Names("ipv6-only.test")
    prober = socks_prober(socks_proxy.url("socks4"), lookup)
    try:
        outcome = prober.check(checked(f"http://{host}:8080/", timeout=0.5))
    finally:
        prober.close()
    assert (outcome.error, outcome.detail) == (
        ErrorKind.CONNECTION, f"SOCKS proxy: socks4 takes IPv4 addresses only, and {host.strip('[]')} has none "
                              "(socks4a:// or socks5h:// has the proxy look the name up)")
    assert socks_proxy.connects == []  # not even asked


def stalled_proxy_port() -> tuple[socket.socket, int]:
    """A port on 127.0.0.1 that takes connections (in its backlog) and never answers: a proxy that stalls."""
    listener = socket.create_server(("127.0.0.1", 0))
    return listener, int(listener.getsockname()[1])


@pytest.mark.parametrize(("fault", "kind", "detail"), [
    ("proxy refused", ErrorKind.CONNECTION, "proxy: Connection refused"),  # nothing listens at the proxy's port
    ("site refused", ErrorKind.CONNECTION, "SOCKS proxy: 0x05: Connection refused"),
    ("proxy forbids", ErrorKind.CONNECTION, "SOCKS proxy: 0x02: Connection not allowed by ruleset"),
    ("unknown to the proxy", ErrorKind.CONNECTION, "SOCKS proxy: 0x04: Host unreachable"),
    ("proxy name unknown", ErrorKind.DNS, "Name or service not known"),  # as an HTTP proxy's, or a site's
    ("proxy stalls", ErrorKind.TIMEOUT, None),  # as a site that takes the connection and never answers
    ("site hangs", ErrorKind.TIMEOUT, None),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_fault_through_a_socks_proxy_is_the_kind_the_same_fault_is_without_one(
        socks_proxy: LocalSocksProxy, server: LocalServer, fault: str, kind: ErrorKind, detail: str | None) -> None:
    proxy_url, url = socks_proxy.url(), server.url("/ok", host=BEHIND_SOCKS)
    stalled, stalled_port = stalled_proxy_port()
    if fault == "proxy refused":
        proxy_url = f"socks5h://127.0.0.1:{refused_port()}"
    elif fault == "site refused":
        url = f"http://{BEHIND_SOCKS}:{refused_port()}/"
    elif fault == "proxy forbids":
        socks_proxy.refusing = True
    elif fault == "unknown to the proxy":
        url = "http://unknown-to-the-proxy.test/"
    elif fault == "proxy name unknown":
        proxy_url = f"socks5h://{BEHIND_SOCKS}:{socks_proxy.port}"
    elif fault == "proxy stalls":
        proxy_url = f"socks5h://127.0.0.1:{stalled_port}"
    elif fault == "site hangs":
        url = server.url("/hang", host=BEHIND_SOCKS)
    prober = socks_prober(proxy_url)
    try:
        outcome = prober.check(checked(url, timeout=0.3))
    finally:
        prober.close()
        stalled.close()
    assert (outcome.status, outcome.error, outcome.detail) == (None, kind, detail)


def test_a_socks_proxys_name_whose_lookup_does_not_answer_fails_as_dns_at_the_timeout_saying_so(
        socks_proxy: LocalSocksProxy, server: LocalServer) -> None:
    # PySocks looks the proxy's name up with `socket.getaddrinfo`, for as long as glibc waits (5 s per attempt).
    silent = SilentLookup(UNANSWERED)
    prober = socks_prober(f"socks5h://{UNANSWERED}:{socks_proxy.port}", silent)
    try:
        outcome = prober.check(checked(server.url("/ok", host=BEHIND_SOCKS), timeout=0.3))
    finally:
        silent.release.set()
        prober.close()
    assert (outcome.error, outcome.detail) == (
        ErrorKind.DNS, f"the lookup of {UNANSWERED} did not answer within the timeout")
    lookups = [thread for host, thread in silent.looked_up if host == UNANSWERED]
    assert lookups and threading.current_thread() not in lookups, "looked up on the resolver's threads, waited for"


# -- the timeout bounds the whole exchange: a server trickling what comes before the body is cut off at it ---------
# urllib3's timeout is per socket operation: a byte every 50 ms never let a 0.5 s one expire while the status line
# and headers were read, and the probe was held for the whole trickle (30 s here; a 1 s probe 30 s in the field).


def trickled_bytes(server: LocalServer) -> int:
    """How many bytes of its status line and headers the server's one trickle sent before the client went."""
    wait_until(lambda: server.headers_trickled, 35, "the trickle's end")
    (sent,) = server.headers_trickled
    return sent


@pytest.mark.slow
def test_headers_trickled_past_the_timeout_are_cut_off_as_a_timeout_and_the_next_probe_is_answered(
        prober: HttpProber) -> None:
    with local_server() as trickling:
        trickling.header_trickles = 1
        site = checked(trickling.url("/trickle-headers"), timeout=0.5)
        cut, answered = prober.check(site), prober.check(site)
        assert (cut.status, cut.response_time_ms, cut.error, cut.detail) == (None, None, ErrorKind.TIMEOUT, None)
        assert (answered.status, answered.error) == (200, None)
        assert trickled_bytes(trickling) < 600, "the server was cut off before its headers ended"


@pytest.mark.slow
def test_headers_trickled_over_a_kept_alive_connection_are_cut_off_as_a_timeout(prober: HttpProber) -> None:
    # The connection was made by the probe before; this one only sends on it, so it must tell the watchdog at the
    # request, not only at the connect (review4: without that, 30 s).
    with local_server() as trickling:
        answered = prober.check(checked(trickling.url("/ok"), timeout=5.0))
        trickling.header_trickles = 1
        cut = prober.check(checked(trickling.url("/trickle-headers"), timeout=0.5))
        assert (answered.status, cut.status, cut.error) == (200, None, ErrorKind.TIMEOUT)
        assert len(trickling.client_ports) == 1, "both probes over one kept-alive connection"
        assert trickled_bytes(trickling) < 600


@pytest.mark.slow
def test_a_redirect_to_trickled_headers_is_cut_off_within_the_one_deadline(prober: HttpProber) -> None:
    with local_server() as trickling:
        trickling.header_trickles = 1
        outcome = prober.check(checked(trickling.url("/to-trickle-headers"), timeout=0.5))
        assert (outcome.status, outcome.error) == (None, ErrorKind.TIMEOUT)
        assert trickling.requests == 2
        assert trickled_bytes(trickling) < 600


@pytest.mark.slow
def test_headers_trickled_through_an_http_proxy_are_cut_off_as_a_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with local_server() as trickling:
        trickling.header_trickles = 1
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{trickling.port}")  # the server is its own proxy
        prober = HttpProber()
        try:
            # A name nobody resolves: only the proxy can answer it.
            outcome = prober.check(checked("http://behind-the-proxy.invalid/trickle-headers", timeout=0.5))
        finally:
            prober.close()
        assert (outcome.status, outcome.error) == (None, ErrorKind.TIMEOUT)
        assert trickled_bytes(trickling) < 600


@pytest.mark.slow
def test_headers_trickled_through_a_socks_proxy_are_cut_off_as_a_timeout(socks_proxy: LocalSocksProxy) -> None:
    # A SOCKS proxy's connections were urllib3's own, unwatched: the probe was held for the whole trickle (30 s).
    with local_server() as trickling:
        trickling.header_trickles = 1
        prober = socks_prober(socks_proxy.url("socks5h"))
        try:
            outcome = prober.check(checked(trickling.url("/trickle-headers", host=BEHIND_SOCKS), timeout=0.5))
        finally:
            prober.close()
        assert (outcome.status, outcome.error) == (None, ErrorKind.TIMEOUT)
        assert trickled_bytes(trickling) < 600


@pytest.mark.slow
def test_a_socks_proxy_trickling_its_reply_to_the_connect_is_cut_off_as_a_timeout(
        socks_proxy: LocalSocksProxy, server: LocalServer) -> None:
    # PySocks reads the reply with the connection's per-operation timeout: a byte every 50 ms held a 0.5 s probe
    # 13 s, unless the watchdog has the socket from before the handshake.
    socks_proxy.trickling = True
    prober = socks_prober(socks_proxy.url("socks5h"))
    try:
        outcome = prober.check(checked(server.url("/ok", host=BEHIND_SOCKS), timeout=0.5))
    finally:
        prober.close()
    assert (outcome.status, outcome.error) == (None, ErrorKind.TIMEOUT)
    (sent,) = wait_until(lambda: socks_proxy.replies_trickled, 20, "the trickle's end")
    assert sent < 262, "the proxy trickled its whole reply: the probe was not cut"


@pytest.mark.slow
def test_probes_on_many_threads_at_once_are_each_cut_at_their_own_deadline_and_only_they(
        prober: HttpProber) -> None:
    # One watchdog serves every probe thread; the kept-alive connections the quick probes share must never be
    # shut down for a cut one's deadline (a connection goes back to the pool only once its probe is over).
    with local_server() as mixed:
        mixed.header_trickles = 2
        trickles = [checked(mixed.url("/trickle-headers?a"), timeout=0.5),
                    checked(mixed.url("/trickle-headers?b"), timeout=0.8)]
        # The quick probes' deadline is no part of the claim, only that none of them is cut: at 0.3 s, a host that
        # kept the process off the CPU that long cut one as it should (a 0.35 s SIGSTOP at random: 3 runs in 4).
        quick = checked(mixed.url("/ok"), timeout=20.0)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            cut = [pool.submit(prober.check, site) for site in trickles]
            answered = [pool.submit(prober.check, quick) for _ in range(400)]
            outcomes = [future.result(timeout=30) for future in cut + answered]
        assert [(o.status, o.error) for o in outcomes[:2]] == [(None, ErrorKind.TIMEOUT)] * 2
        assert {(o.status, o.error) for o in outcomes[2:]} == {(200, None)}
        wait_until(lambda: len(mixed.headers_trickled) == 2, 35, "both trickles' ends")
        assert max(mixed.headers_trickled) < 600


class TricklingTls:
    """A TCP port on 127.0.0.1 that answers a TLS ClientHello with the header of a 16 kB handshake record, then its
    content one byte every 50 ms (a handshake that never ends within any probe's timeout); `sent` says how many
    bytes went before the client left (at most 30 s of them)."""

    RECORD = b"\x16\x03\x03\x40\x00"

    def __init__(self) -> None:
        self.sent: list[int] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="trickling-tls", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._listener.settimeout(5.0)
        try:
            connection, _ = self._listener.accept()
        except OSError:
            return
        sent = 0
        with connection:
            try:
                connection.recv(4096)  # the ClientHello
                connection.sendall(self.RECORD)
                while sent < 600 and not self._stop.wait(0.05):
                    connection.sendall(b"\x00")
                    sent += 1
            except OSError:
                pass  # the client gave up
        self.sent.append(sent)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(35.0)
        self._listener.close()


@pytest.mark.slow
def test_headers_trickled_over_tls_are_cut_off_as_a_timeout(authority: tuple[trustme.CA, str],
                                                            prober: HttpProber) -> None:
    # The TCP socket beneath the TLS one is shut down: the TLS socket's own shutdown would drop its state under the
    # probe's thread reading it.
    ca, ca_file = authority
    with tls_server(ca, "127.0.0.1") as trickling:
        trickling.header_trickles = 1
        site = checked(trickling.url("/trickle-headers"), timeout=0.5, caFile=ca_file)
        cut, answered = prober.check(site), prober.check(site)
        assert (cut.status, cut.error) == (None, ErrorKind.TIMEOUT)
        assert (answered.status, answered.error) == (200, None)
        assert trickled_bytes(trickling) < 600


@pytest.mark.slow
def test_a_tls_handshake_trickled_past_the_timeout_is_cut_off_as_a_timeout(prober: HttpProber) -> None:
    # Bounded before the watchdog too (CPython gives a TLS handshake its socket's timeout as a whole); kept so.
    server = TricklingTls()
    try:
        outcome = prober.check(checked(f"https://127.0.0.1:{server.port}/", timeout=0.5))
        wait_until(lambda: server.sent, 35, "the handshake's end")
    finally:
        server.stop()
    assert (outcome.status, outcome.error) == (None, ErrorKind.TIMEOUT)
    assert server.sent[0] < 600, "the server was cut off before its handshake record ended"


# -- the timeout bounds the host name's lookup too ------------------------------------------------------------------
# glibc's getaddrinfo waits on a DNS server that does not answer for 5 s x 2 attempts per nameserver whatever the
# site's timeout: a 1 s probe took 4 s with a silent nameserver at timeout:2 attempts:2 (a `timeout`, late). The
# silent server here is `SilentLookup`, a lookup that really blocks its thread until the test's end.


def test_a_lookup_that_does_not_answer_fails_at_the_timeout_as_dns_and_the_next_probe_is_not_held(
        server: LocalServer, silent: SilentLookup) -> None:
    # `at_once=()`: `localhost` too is looked up on the resolver's threads, beside the silent lookup.
    resolver = Resolver(silent, at_once=())
    prober = HttpProber(pool_size=2, resolver=resolver)
    try:
        unanswered = prober.check(checked(f"http://{UNANSWERED}:{server.port}/ok", timeout=0.3))
        assert silent.entered.is_set() and not silent.release.is_set(), "the probe ended while its lookup blocked"
        other = prober.check(checked(server.url("/ok", host="localhost")))
        again = prober.check(checked(f"http://{UNANSWERED}:{server.port}/ok", timeout=0.3))
        assert not silent.release.is_set()
    finally:
        prober.close()
    detail = f"the lookup of {UNANSWERED} did not answer within the timeout"
    assert (unanswered.available, unanswered.status, unanswered.error, unanswered.detail) == (
        False, None, ErrorKind.DNS, detail)
    assert (other.available, other.status, other.error) == (True, 200, None)
    assert (again.error, again.detail) == (ErrorKind.DNS, detail)
    assert silent.hosts() == [UNANSWERED, "localhost"], "the second probe of the silent name waited for the first"
    assert silent.ended == 0


def test_a_name_that_does_not_exist_and_a_refused_port_are_told_as_before_through_the_resolver_with_why(
        server: LocalServer) -> None:
    prober = HttpProber(pool_size=2, resolver=Resolver(UnknownNames("nonexistent.invalid"), at_once=()))
    try:
        missing = prober.check(checked(f"http://nonexistent.invalid:{server.port}/ok"))
        refused = prober.check(checked(f"http://localhost:{refused_port()}/ok"))
    finally:
        prober.close()
    # The system's own words as the detail: the kind alone did not tell a refusal from a reset or no route.
    assert (missing.error, missing.detail, refused.error, refused.detail) == (
        ErrorKind.DNS, "Name or service not known", ErrorKind.CONNECTION, "Connection refused")


def test_a_host_name_looked_up_on_the_resolvers_threads_is_still_the_name_tls_checks(
        authority: tuple[trustme.CA, str]) -> None:
    ca, ca_file = authority
    looked_up = SilentLookup()
    prober = HttpProber(pool_size=2, resolver=Resolver(looked_up, at_once=()))
    try:
        with tls_server(ca, "localhost") as named:
            verified = prober.check(checked(named.url("/ok", host="localhost"), caFile=ca_file))
        with tls_server(ca, "127.0.0.1") as numbered:
            mismatch = prober.check(checked(numbered.url("/ok", host="localhost"), caFile=ca_file))
    finally:
        prober.close()
    assert (verified.available, verified.status, verified.error) == (True, 200, None)
    assert verified.certificate_expiry is not None
    # Connected to the address found, checked against the name: a certificate for the address alone is refused.
    assert (mismatch.error, mismatch.detail) == (
        ErrorKind.TLS, "certificate verify failed: Hostname mismatch, certificate is not valid for 'localhost'")
    assert looked_up.hosts() == ["localhost", "localhost"]
    assert all(thread is not threading.current_thread() for _, thread in looked_up.looked_up)


def test_through_an_http_proxy_its_name_is_what_is_looked_up(proxy: LocalProxy,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("127.0.0.1", "localhost"))
    looked_up = SilentLookup()
    prober = HttpProber(resolver=Resolver(looked_up, at_once=()))
    try:
        outcome = prober.probe(f"http://{UNANSWERED}/health", 2.0)
    finally:
        prober.close()
    assert (outcome.status, outcome.error) == (200, None)
    assert looked_up.hosts() == ["localhost"]

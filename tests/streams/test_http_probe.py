"""The HTTP probe against a real server on 127.0.0.1: statuses, timeouts, refusals, redirects, huge bodies."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator

import pytest
import requests
import urllib3.exceptions

from monitoringapp.domain.events import ErrorKind
from monitoringapp.streams.http_probe import BODY_LIMIT, HttpProber, classify
from tests.local_http import HUGE_CLAIMED, LocalProxy, LocalServer, local_proxy, local_server, refused_port


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(hang_for=5.0) as running:
        yield running


def timed(prober: HttpProber, url: str, timeout: float) -> tuple[object, float]:
    started = time.perf_counter()
    outcome = prober.probe(url, timeout)
    return outcome, time.perf_counter() - started


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


def test_hanging_endpoint_times_out_within_about_the_timeout(server: LocalServer, prober: HttpProber) -> None:
    outcome, took = timed(prober, server.url("/hang"), 0.3)
    assert (outcome.status, outcome.response_time_ms, outcome.error) == (None, None, ErrorKind.TIMEOUT)  # type: ignore[attr-defined]
    assert 0.25 <= took < 1.5  # the server would hang for 5 s


def test_refused_port_is_a_connection_error() -> None:
    client = HttpProber()
    try:
        outcome = client.probe(f"http://127.0.0.1:{refused_port()}/", 2.0)
    finally:
        client.close()
    assert (outcome.status, outcome.response_time_ms, outcome.error) == (None, None, ErrorKind.CONNECTION)


def test_redirect_chain_is_followed_to_the_final_status(server: LocalServer, prober: HttpProber) -> None:
    requests_before = server.requests
    outcome = prober.probe(server.url("/redirect/4"), 2.0)
    assert (outcome.status, outcome.error) == (200, None)
    assert server.requests - requests_before == 5


def test_redirect_loop_gives_up_as_redirects(server: LocalServer, prober: HttpProber) -> None:
    outcome = prober.probe(server.url("/loop"), 2.0)
    assert (outcome.status, outcome.response_time_ms, outcome.error) == (None, None, ErrorKind.REDIRECTS)


def test_huge_body_is_not_downloaded(server: LocalServer, prober: HttpProber) -> None:
    outcome, took = timed(prober, server.url("/huge"), 5.0)
    assert (outcome.status, outcome.error) == (200, None)  # type: ignore[attr-defined]
    assert took < 1.0  # 1 GB at loopback speed would take seconds
    # The server stops writing once the client hangs up; what it got out is socket buffers, not 1 GB.
    deadline = time.monotonic() + 3.0
    sent = -1
    while time.monotonic() < deadline and sent != server.huge_bytes_sent:
        sent = server.huge_bytes_sent
        time.sleep(0.1)
    assert BODY_LIMIT <= sent < HUGE_CLAIMED // 16


def test_body_limit_bounds_what_is_read_from_a_huge_response(server: LocalServer) -> None:
    client = HttpProber(body_limit=1024)
    try:
        response = client.session.get(server.url("/huge"), stream=True, timeout=2.0)
        client._read_bounded(response, time.perf_counter() + 2.0, keep=False)
        assert response.raw.tell() == 1024
        response.close()
    finally:
        client.close()


def test_trickling_body_is_cut_at_the_timeout(server: LocalServer, prober: HttpProber) -> None:
    outcome, took = timed(prober, server.url("/trickle"), 0.4)
    assert (outcome.status, outcome.error) == (None, ErrorKind.TIMEOUT)  # type: ignore[attr-defined]
    assert 0.35 <= took < 2.0  # the server would trickle for 10 s


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


def test_no_proxy_sends_matching_hosts_direct(proxy: LocalProxy, server: LocalServer,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("no_proxy", "example.test,127.0.0.0/8")
    prober = HttpProber()
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
    prober = HttpProber()
    monkeypatch.setenv("HTTP_PROXY", proxy.url)  # too late: probes stay cheap, no environment read each
    try:
        assert prober.probe("http://behind-the-proxy.invalid/", 0.5).error is ErrorKind.DNS
    finally:
        prober.close()
    assert proxy.requested == []

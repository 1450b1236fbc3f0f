"""The webhook against a real receiver on 127.0.0.1: its timeout bounds the whole exchange, status line, headers and
body included (a receiver trickling them a byte at a time fails at the timeout), and a normal receiver keeps one
connection for many POSTs."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bench.processes import wait_until
from monitoringapp.domain.events import AlertTransition, TransitionKind
from monitoringapp.domain.notices import transition_notice
from monitoringapp.sinks.channels import DeliveryFailed
from monitoringapp.sinks.webhook import WebhookChannel
from monitoringapp.transport.resolver import Resolver
from tests.local_dns import UNANSWERED, SilentLookup, UnknownNames
from tests.local_http import TRICKLED_BODY, LocalServer, local_server
from tests.local_socks import LocalSocksProxy, local_socks_proxy

T0 = 1_795_000_000.0
DOWN = transition_notice(AlertTransition(T0, "https://shop.example.com/", TransitionKind.ALERT, 0.5, T0))


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


class SteppingClock:
    """Virtual time: each reading is `step` seconds after the one before."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.readings: list[float] = []

    def __call__(self) -> float:
        self.readings.append(len(self.readings) * self.step)
        return self.readings[-1]


def test_a_body_trickled_past_the_timeout_fails_at_the_timeout_by_the_channels_clock(server: LocalServer) -> None:
    # `/trickle` sends its headers at once, then a byte every 50 ms for 10 s. The timeout applied per read
    # let it hold the channel the whole 10 s; now each read of the body is one step of 0.25 s on the clock.
    clock = SteppingClock(0.25)
    hook = WebhookChannel(server.url("/trickle"), timeout=1.0, clock=clock)
    trickles = len(server.body_trickled)
    with pytest.raises(DeliveryFailed, match=r"^no answer within 1 s$"):
        hook.send([DOWN])
    hook.close()
    # The deadline read at 0, three reads of the body at 0.25, 0.5 and 0.75, cut at 1.0.
    assert clock.readings == [0.0, 0.25, 0.5, 0.75, 1.0]
    sent = wait_until(lambda: server.body_trickled[trickles:], 15, "the trickle's end")
    assert sent[0] < TRICKLED_BODY, "the receiver trickled to the end: the channel did not hang up"


@pytest.mark.slow
def test_a_body_trickled_past_a_real_timeout_fails_within_it() -> None:
    with local_server() as trickling:
        hook = WebhookChannel(trickling.url("/trickle"), timeout=0.4)
        with pytest.raises(DeliveryFailed, match=r"^no answer within 0.4 s$"):
            hook.send([DOWN])
        hook.close()
        # It held the channel 10 s, the whole trickle: now the receiver finds it gone long before its end.
        (sent,) = wait_until(lambda: trickling.body_trickled, 15, "the trickle's end")
        assert sent < TRICKLED_BODY, "the receiver trickled to the end: the channel did not hang up"


@pytest.mark.slow
def test_headers_trickled_past_the_timeout_fail_as_a_timeout_and_the_retry_is_delivered() -> None:
    # requests' timeout is per socket operation: a byte of the status line or headers every 50 ms never let a
    # 0.5 s one expire, and the channel was held for the whole trickle (30 s here; a 0.5 s one 13 s in the field).
    with local_server() as trickling:
        trickling.header_trickles = 1
        hook = WebhookChannel(trickling.url("/trickle-headers"), timeout=0.5)
        with pytest.raises(DeliveryFailed, match=r"^no answer within 0.5 s$"):
            hook.send([DOWN])
        hook.send([DOWN])  # the notifier's retry: a fresh connection, answered at once
        hook.close()
        wait_until(lambda: trickling.headers_trickled, 35, "the trickle's end")
        assert trickling.requests == 2
        (sent,) = trickling.headers_trickled
        assert sent < 600, "the receiver was cut off before its headers ended"


def test_a_channel_closed_while_its_post_waits_for_trickled_headers_cuts_the_post_at_once() -> None:
    # A notifier's reload gives up on a channel busy with a slow receiver and closes it: its POST in flight, its
    # deadline a minute away, fails then, rather than running on unwatched for the whole trickle (30 s, review3).
    with local_server() as trickling:
        trickling.header_trickles = 1
        hook = WebhookChannel(trickling.url("/trickle-headers"), timeout=60.0)
        failed: list[str] = []

        def send() -> None:
            try:
                hook.send([DOWN])
            except DeliveryFailed as failure:
                failed.append(str(failure))

        sending = threading.Thread(target=send)
        sending.start()
        wait_until(lambda: trickling.requests == 1, 10, "the POST")
        hook.close()
        sending.join(35.0)
        assert failed == ["cut: the channel was closed before the answer came"]
        wait_until(lambda: trickling.headers_trickled, 35, "the trickle's end")
        (sent,) = trickling.headers_trickled
        assert sent < 600, "the receiver was cut off before its headers ended"


def test_many_posts_to_a_receiver_that_answers_with_a_body_share_one_kept_alive_connection(
        server: LocalServer) -> None:
    # Reading the body under a deadline must not cost the connection: a POST each that closed it was 8 % fewer
    # POSTs a second locally, and a TLS handshake per notice remotely.
    ports_before = set(server.client_ports)
    hook = WebhookChannel(server.url("/echo"), timeout=5.0)
    hook.send([DOWN] * 20)
    hook.close()
    assert len(server.client_ports - ports_before) == 1


def test_an_answer_other_than_2xx_fails_and_keeps_the_connection(server: LocalServer) -> None:
    ports_before = set(server.client_ports)
    hook = WebhookChannel(server.url("/see-other"), timeout=5.0)  # a 303: not followed, not delivered
    for _ in range(3):
        with pytest.raises(DeliveryFailed, match=r"^HTTP 303$"):
            hook.send([DOWN])
    hook.close()
    assert len(server.client_ports - ports_before) == 1


# -- the timeout bounds the receiver's host name's lookup too: the silent DNS server is `SilentLookup`, a lookup that
# really blocks its thread until the test's end.


@pytest.fixture
def silent() -> Iterator[SilentLookup]:
    lookup = SilentLookup()
    yield lookup
    lookup.release.set()


def test_a_receiver_whose_name_is_not_looked_up_in_time_fails_at_the_timeout_saying_so(silent: SilentLookup) -> None:
    hook = WebhookChannel(f"http://{UNANSWERED}/hook", timeout=0.3, resolver=Resolver(silent, at_once=()))
    try:
        with pytest.raises(DeliveryFailed, match=rf"^cannot connect: the lookup of {UNANSWERED} did not answer within "
                                                 r"the timeout \(0.3 s\)$"):
            hook.send([DOWN])
        assert silent.entered.is_set() and not silent.release.is_set()
    finally:
        hook.close()


def test_closing_the_channel_cuts_a_post_still_waiting_for_its_lookup(silent: SilentLookup) -> None:
    hook = WebhookChannel(f"http://{UNANSWERED}/hook", timeout=60.0, resolver=Resolver(silent, at_once=()))
    failures: list[DeliveryFailed] = []

    def post() -> None:
        try:
            hook.send([DOWN])
        except DeliveryFailed as failure:
            failures.append(failure)

    posting = threading.Thread(target=post)
    posting.start()
    assert silent.entered.wait(10)
    hook.close()
    posting.join(10)
    assert not posting.is_alive() and not silent.release.is_set(), "cut long before its 60 s, the lookup still blocked"
    assert [str(failure) for failure in failures] == ["cut: the channel was closed before the answer came"]


# -- through a SOCKS proxy of the environment (requests reads it: the notifier's channels go through it as `-m`'s
# probes do), watched as any exchange: the receiver's name known to the proxy only, so no DNS server is asked.

BEHIND_SOCKS = "receiver-behind-the-socks-proxy.test"


@pytest.fixture
def socks_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalSocksProxy]:
    """A local SOCKS5 proxy that asks for a login whose password has an `@`, the environment's one proxy."""
    with local_socks_proxy(login=("ops", "p@ss"), names={BEHIND_SOCKS: "127.0.0.1"}) as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        url = proxy.url("socks5h", "ops", "p%40ss")  # percent-encoded in the URL, as curl takes it
        monkeypatch.setenv("ALL_PROXY", url)
        monkeypatch.setenv("all_proxy", url)
        yield proxy


def test_a_webhook_is_delivered_through_a_socks_proxy_of_the_environment_over_one_kept_alive_connection(
        socks_environment: LocalSocksProxy, server: LocalServer) -> None:
    hook = WebhookChannel(server.url("/echo", host=BEHIND_SOCKS), timeout=5.0,
                          resolver=Resolver(UnknownNames(BEHIND_SOCKS)))  # looked up here, a `cannot connect`
    try:
        hook.send([DOWN, DOWN])
    finally:
        hook.close()
    assert socks_environment.connects == [(BEHIND_SOCKS.encode(), server.port)]
    assert socks_environment.logins == [("ops", "p@ss")]  # decoded, as curl sends it


def test_a_socks_proxy_that_will_not_connect_the_post_fails_it_saying_what_the_proxy_answered(
        socks_environment: LocalSocksProxy, server: LocalServer) -> None:
    socks_environment.refusing = True  # every CONNECT: 0x02, not allowed by ruleset
    hook = WebhookChannel(server.url("/echo", host=BEHIND_SOCKS), timeout=5.0,
                          resolver=Resolver(UnknownNames(BEHIND_SOCKS)))
    try:
        with pytest.raises(DeliveryFailed) as failed:
            hook.send([DOWN])
    finally:
        hook.close()
    assert str(failed.value) == "cannot connect: SOCKS proxy: 0x02: Connection not allowed by ruleset"
    assert "p@ss" not in str(failed.value) and "p%40ss" not in str(failed.value)


@pytest.mark.slow
def test_a_socks_proxy_trickling_its_reply_to_the_connect_fails_the_post_at_the_timeout(
        socks_environment: LocalSocksProxy, server: LocalServer) -> None:
    socks_environment.trickling = True  # its reply a byte every 50 ms: 13 s, unless the channel hangs up
    hook = WebhookChannel(server.url("/echo", host=BEHIND_SOCKS), timeout=0.5,
                          resolver=Resolver(UnknownNames(BEHIND_SOCKS)))
    try:
        with pytest.raises(DeliveryFailed, match=r"^no answer within 0.5 s$"):
            hook.send([DOWN])
    finally:
        hook.close()
    (sent,) = wait_until(lambda: socks_environment.replies_trickled, 20, "the trickle's end")
    assert sent < 262, "the proxy trickled its whole reply: the POST was not cut"

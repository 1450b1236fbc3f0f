"""The watchdog over whole HTTP exchanges, with real sockets on 127.0.0.1: an exchange past its deadline has its socket
shut down and is told so, one that ended in time is left alone, and exchanges that end in time do not wake it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socks
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from bench.processes import wait_until
from monitoringapp.transport.watchdog import (
    RunningClock,
    Watchdog,
    WatchedHTTPConnection,
    WatchedHTTPConnectionPool,
    WatchedSOCKSConnection,
)
from tests.local_http import refused_port


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port on 127.0.0.1 whose connections are accepted by the kernel and never answered."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


class HeldClock:
    """The watchdog's clock, moved by the test only: an exchange disarmed before its deadline is so however long a
    loaded host keeps the test's thread from running (a 0.1 s deadline of the real clock was passed now and then)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def connected(listener: socket.socket) -> WatchedHTTPConnection:
    connection = WatchedHTTPConnection("127.0.0.1", listener.getsockname()[1], timeout=10.0)
    connection.connect()  # registers with the exchange armed on this thread, if any
    # As urllib3's request and getresponse do: the socket's timeout was the connect's, what was left of the deadline
    # (a recv here then timed out as the watchdog cut it, 2 runs in 30).
    assert connection.sock is not None
    connection.sock.settimeout(connection.timeout)
    return connection


def test_an_exchange_past_its_deadline_is_cut_at_once_whatever_its_socket_timeout(listener: socket.socket) -> None:
    watchdog = Watchdog()
    try:
        exchange = watchdog.arm(time.monotonic() + 0.2)
        connection = connected(listener)
        assert connection.sock is not None
        # Blocked on a server that never answers: only the shutdown ends it before the socket's 10 s (a timeout then).
        assert connection.sock.recv(1) == b""
        assert watchdog.disarm(exchange) is True
    finally:
        watchdog.close()
        connection.close()


def test_an_exchange_disarmed_in_time_is_told_so_and_its_connection_left_alone(listener: socket.socket) -> None:
    clock = HeldClock()
    watchdog = Watchdog(clock=clock)
    try:
        in_time = watchdog.arm(clock() + 0.1)
        kept = connected(listener)
        assert watchdog.disarm(in_time) is False
        # A later exchange on another thread, cut at its deadline: by then the first one's has passed too.
        outcome: list[bytes] = []
        connecting = threading.Event()

        def cut() -> None:
            exchange = watchdog.arm(clock() + 0.3)
            connection = connected(listener)
            connecting.set()
            assert connection.sock is not None
            outcome.append(connection.sock.recv(1))
            outcome.append(b"fired" if watchdog.disarm(exchange) else b"not fired")
            connection.close()

        other = threading.Thread(target=cut)
        other.start()
        assert connecting.wait(15.0), "the other exchange connected"
        clock.now += 1.0  # past both deadlines
        other.join(15.0)
        assert outcome == [b"", b"fired"]
        assert kept.sock is not None
        kept.sock.sendall(b"still open")  # a socket shut down refuses to send (EPIPE)
    finally:
        watchdog.close()
        kept.close()


def test_an_exchange_made_as_a_with_block_is_disarmed_however_the_block_ends_and_says_whether_it_was_cut(
        listener: socket.socket) -> None:
    watchdog = Watchdog()
    try:
        in_time = watchdog.arm(time.monotonic() + 60.0)
        with in_time:
            pass
        assert in_time.cut is False
        cut = watchdog.arm(time.monotonic() + 0.2)
        with pytest.raises(KeyboardInterrupt), cut:  # not an Exception: what a probe's `except` does not catch
            connection = connected(listener)
            assert connection.sock is not None
            assert connection.sock.recv(1) == b""  # shut down at the deadline
            raise KeyboardInterrupt
        assert cut.cut is True
        connection.close()
        unwatched = connected(listener)
        assert unwatched.exchange is None  # disarmed: nothing is armed on this thread any more
        unwatched.close()
    finally:
        watchdog.close()


def test_exchanges_that_end_in_time_do_not_wake_the_watchdog_each() -> None:
    # Waking it at each `arm` would be a thread wake-up (a futex call and a GIL hand-over) per probe.
    watchdog = Watchdog(look_every=30.0)
    try:
        for _ in range(2000):
            exchange = watchdog.arm(time.monotonic() + 60.0)
            assert watchdog.disarm(exchange) is False
        assert watchdog.looks <= 1  # its start
    finally:
        watchdog.close()


def test_the_running_clock_leaves_out_a_stall_past_the_due_look_and_never_goes_back() -> None:
    raw = HeldClock()
    clock = RunningClock(raw, stall_after=1.0)
    raw.now = 1010.0
    assert clock() == 1010.0  # no look due: nothing armed, nothing left out however long it was quiet
    clock.look_due(1010.05)
    raw.now = 1010.9  # a look 0.85 s late: a loaded host, not a stall
    assert clock() == 1010.9
    raw.now = 1016.0  # stopped: 5.1 s since the latest reading, none of it the exchanges'
    assert clock() == 1010.9
    assert clock.stalled == pytest.approx(5.1)
    raw.now = 1016.5  # running again, before the watchdog's next look: its look is due from the resumption
    assert clock() == pytest.approx(1011.4)
    clock.look_due(1011.45)
    raw.now = 1022.0  # stopped again, past a due look later than the latest reading
    assert clock() == 1011.45
    assert clock.stalled == pytest.approx(5.1 + 5.45)


def test_a_stall_of_the_process_across_an_exchange_does_not_cut_it(listener: socket.socket) -> None:
    # A `kill -STOP` of 5 s in a probe whose answer came meanwhile cut it as a timeout of a site that was up.
    clock = HeldClock()
    watchdog = Watchdog(clock=clock)
    try:
        exchange = watchdog.arm(watchdog.clock() + 3.0)
        connection = connected(listener)
        wait_until(lambda: watchdog.looks >= 2, 15, "the watchdog's look after the arm")
        clock.now += 5.0  # the process stopped: nobody ran, the watchdog neither
        assert watchdog.clock() == pytest.approx(1000.0, abs=0.1)  # the stall left out, by whoever reads first
        looks = watchdog.looks
        wait_until(lambda: watchdog.looks >= looks + 2, 15, "the watchdog's looks after the stall")
        assert watchdog.disarm(exchange) is False
        assert connection.sock is not None
        connection.sock.sendall(b"still open")  # a socket shut down refuses to send (EPIPE)
        connection.close()
        # A deadline passes as it did while the watchdog looks in time (the clock moved less than a second a look).
        cut = watchdog.arm(watchdog.clock() + 3.0)
        for _ in range(4):
            clock.now += 0.9
            seen = watchdog.looks
            wait_until(lambda seen=seen: watchdog.looks > seen + 1, 15, "a look begun after the move")
        assert watchdog.disarm(cut) is True
    finally:
        watchdog.close()


def test_a_connect_begun_past_its_exchanges_deadline_is_not_made(listener: socket.socket) -> None:
    # The lookup took the whole deadline and more (answered before it, read after it): urllib3's connect timeout, fixed
    # when the exchange began (10 s here), would have connected now, and to an address that does not answer waited
    # a whole timeout more. The socket is not the exchange's until it is connected, so the watchdog cannot cut that.
    clock = HeldClock()
    watchdog = Watchdog(clock=clock)
    try:
        exchange = watchdog.arm(watchdog.clock() + 0.5)
        clock.now += 0.6  # under the running clock's stall threshold: time the exchange spent, not a stopped process
        with pytest.raises(ConnectTimeoutError):
            connected(listener)
        watchdog.disarm(exchange)
    finally:
        watchdog.close()
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing connected


def test_a_connection_outside_any_armed_exchange_is_not_watched(listener: socket.socket) -> None:
    clock = HeldClock()
    watchdog = Watchdog(clock=clock)
    try:
        exchange = watchdog.arm(clock() + 0.1)
        assert watchdog.disarm(exchange) is False
        unwatched = connected(listener)
        assert unwatched.exchange is None
        unwatched.close()
    finally:
        watchdog.close()


def test_closing_cuts_an_exchange_still_armed_and_one_that_connects_after_it_does_not_connect(
        listener: socket.socket) -> None:
    """The owner closes (a notifier's reload giving up on a channel busy with a slow receiver, a prober's stop):
    its exchanges in flight, their deadlines a minute away, end at once instead of running on unwatched, and one that
    only then connects is told it timed out without connecting."""
    watchdog = Watchdog()
    outcome: list[object] = []
    # Set once the exchange is where the close is to find it: connected, or armed and not yet connecting. (Set at
    # the arming, a close that came before the connect made it time out, once in CI on a loaded host.)
    in_place = threading.Event()
    closed = threading.Event()

    def in_flight(connect_after_close: bool) -> None:
        exchange = watchdog.arm(time.monotonic() + 60.0)
        if connect_after_close:
            in_place.set()
            closed.wait(15.0)
            with pytest.raises(ConnectTimeoutError):
                connected(listener)
            outcome.extend([b"not connected", watchdog.disarm(exchange)])
            return
        connection = connected(listener)
        in_place.set()
        assert connection.sock is not None
        outcome.append(connection.sock.recv(1))  # the server never answers: only a shutdown ends it in time
        outcome.append(watchdog.disarm(exchange))
        connection.close()

    for connect_after_close, expected in ((False, b""), (True, b"not connected")):
        outcome.clear()
        in_place.clear()
        closed.clear()
        thread = threading.Thread(target=in_flight, args=(connect_after_close,))
        thread.start()
        in_place.wait(15.0)
        watchdog.close()
        closed.set()
        thread.join(15.0)
        assert outcome == [expected, True], connect_after_close


def test_a_socket_handed_over_to_the_response_is_cut_at_the_deadline(listener: socket.socket) -> None:
    # An answer with `Connection: close`: http.client hands the socket to the response and sets the connection's
    # `sock` to None while the body is still read; a body trickled a byte just inside each read's timeout ran on
    # to twice the deadline (review4).
    watchdog = Watchdog()
    try:
        exchange = watchdog.arm(time.monotonic() + 0.2)
        connection = connected(listener)
        sock, connection.sock = connection.sock, None  # as `HTTPConnection.close` after the hand-over leaves it
        assert sock is not None
        assert sock.recv(1) == b""  # only the shutdown ends it before the socket's 10 s
        assert watchdog.disarm(exchange) is True
    finally:
        watchdog.close()
        sock.close()


def test_an_exchange_armed_after_close_is_watched_and_leaves_no_thread_behind(listener: socket.socket) -> None:
    watchdog = Watchdog(name="watchdog-armed-after-close")
    watchdog.close()
    exchange = watchdog.arm(time.monotonic() + 0.2)  # an abandoned probe starting after its prober was closed
    connection = connected(listener)
    assert connection.sock is not None
    assert connection.sock.recv(1) == b""
    assert watchdog.disarm(exchange) is True
    connection.close()
    wait_until(lambda: all(thread.name != watchdog.name for thread in threading.enumerate()), 5, "the thread's end")


def test_a_connection_is_kept_from_its_pool_until_its_exchange_is_disarmed_and_comes_back_closed_if_cut(
        listener: socket.socket) -> None:
    # Back in its pool while armed, a connection could be taken by another probe and then shut down under it.
    watchdog = Watchdog()
    pool = WatchedHTTPConnectionPool("127.0.0.1", listener.getsockname()[1], maxsize=1)
    try:
        exchange = watchdog.arm(time.monotonic() + 0.2)
        connection = pool._get_conn()
        connection.connect()
        wait_until(lambda: exchange.state != 0, 5, "the deadline")  # fired, not yet disarmed
        pool._put_conn(connection)
        assert pool.pool is not None and pool.pool.qsize() == 0, "kept out while the exchange is armed"
        assert watchdog.disarm(exchange) is True
        assert pool.pool.qsize() == 1
        assert pool._get_conn() is connection and connection.sock is None, "closed: its socket was shut down"
    finally:
        watchdog.close()
        pool.close()


def test_a_socks_handshake_that_outlasts_the_socket_timeout_before_the_deadline_is_a_timeout_not_a_refusal(
        listener: socket.socket) -> None:
    # PySocks wraps the socket's timeout in a ProxyError, an OSError: raised as that, it was a failure to connect
    # (NewConnectionError, `connection`); the timeout it wraps is what happened. The watchdog's clock is held, so
    # only the socket's own timeout (0.2 s) can end the handshake the proxy never answers.
    clock = HeldClock()
    watchdog = Watchdog(clock=clock)
    proxy = {"socks_version": socks.SOCKS5, "proxy_host": "127.0.0.1", "proxy_port": listener.getsockname()[1],
             "username": None, "password": None, "rdns": True}
    try:
        exchange = watchdog.arm(clock() + 30.0)
        connection = WatchedSOCKSConnection(proxy, "site.test", 80, timeout=0.2)
        with pytest.raises(ConnectTimeoutError) as stalled:
            connection.connect()
        assert watchdog.disarm(exchange) is False
    finally:
        watchdog.close()
    assert type(stalled.value) is ConnectTimeoutError  # not its subclass NewConnectionError
    assert isinstance(stalled.value.__cause__, TimeoutError)


def test_a_socks_connect_begun_past_its_exchanges_deadline_is_not_made(listener: socket.socket) -> None:
    # The watchdog looked at the deadline, before this socket was the exchange's: it would never cut it, and the
    # proxy's handshake would run on for the socket's own 10 s.
    clock = HeldClock()
    watchdog = Watchdog(clock=clock)
    proxy = {"socks_version": socks.SOCKS5, "proxy_host": "127.0.0.1", "proxy_port": listener.getsockname()[1],
             "username": None, "password": None, "rdns": True}
    try:
        exchange = watchdog.arm(watchdog.clock() + 0.5)
        clock.now += 0.6
        with pytest.raises(ConnectTimeoutError):
            WatchedSOCKSConnection(proxy, "site.test", 80, timeout=10.0).connect()
        watchdog.disarm(exchange)
    finally:
        watchdog.close()
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing connected to the proxy


class RequestLines(WatchedHTTPConnection):
    """A watched connection that counts the request lines it builds."""

    built = 0

    def putrequest(self, *args: Any, **kwargs: Any) -> None:
        self.built += 1
        super().putrequest(*args, **kwargs)


def test_a_refused_connection_builds_no_request_and_a_connected_one_sends_it_whole(listener: socket.socket) -> None:
    # http.client connects as the headers are sent, after the request line and headers are built: for a site that
    # refuses every connection that was a sixth of its probe's CPU spent for nothing (`python -m bench.failing`).
    watchdog = Watchdog(clock=HeldClock())
    try:
        with watchdog.arm(watchdog.clock() + 5.0):
            refused = RequestLines("127.0.0.1", refused_port(), timeout=5.0)
            with pytest.raises(NewConnectionError, match="Connection refused"):
                refused.request("GET", "/", headers={"X-Site": "1"})
        assert (refused.built, refused.sock) == (0, None)
        with watchdog.arm(watchdog.clock() + 5.0) as exchange:
            sent = RequestLines("127.0.0.1", listener.getsockname()[1], timeout=5.0)
            sent.request("GET", "/path", headers={"X-Site": "1"})
            assert exchange.connection is sent and exchange.sock is sent.sock
            accepted, _ = listener.accept()
            with accepted:
                accepted.settimeout(5.0)
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    head += accepted.recv(4096)
            sent.close()
        assert sent.built == 1
        assert head.startswith(b"GET /path HTTP/1.1\r\n") and b"\r\nX-Site: 1\r\n" in head
    finally:
        watchdog.close()

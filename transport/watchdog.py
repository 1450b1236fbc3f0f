"""One deadline over a whole HTTP exchange, connect, TLS handshake, request, status line, headers and body, where
urllib3's timeout bounds each socket operation only (a server trickling its headers a byte at a time holds a 1 s
request for as long as it trickles).

A `Watchdog` thread shuts down the socket of an exchange whose deadline has passed, which ends any connect, read or
write blocked on it at once. Exchanges are armed and disarmed by the threads that make them, many at once (the
probe pool's threads); the connections of a `WatchedAdapter` register with the exchange armed on their thread as
they connect and as the request is sent, and go back to their pool only when it is disarmed, so the watchdog never
shuts down a socket another exchange has since taken from the pool.

Cheap in the normal case: `arm` is a lock and a heap push, `disarm` a lock and (amortised) a heap pop, neither a
syscall nor a wake-up. While exchanges are armed the thread looks at the deadlines every `look_every` (50 ms), or
sooner at the earliest deadline it knows, so a deadline armed meanwhile is met exactly with no wake-up for it: only
an `arm` whose deadline comes before the thread's next look (a timeout under 50 ms, or the first exchange after a
quiet spell, when the thread sleeps until woken) wakes it. So its wake-ups are at most 20 a second plus one per
deadline that passes, however many exchanges end in time. (Waking it at each `arm` whose deadline came before the
one it slept until would cost a wake-up per probe where sites' timeouts differ, or where each probe ends before the
thread gets the GIL to look at it.)

A connection's host name (the proxy's, through an HTTP proxy) is looked up by the watchdog's `Resolver` for at most
what is left of the exchange's deadline (`transport.resolver`: a lookup has no socket to shut down). Through a SOCKS
proxy (`socks4`, `socks4a`, `socks5`, `socks5h`; PySocks speaks the protocol) the same holds: the proxy's name, and
the site's where the client resolves it (`socks4`, `socks5`), are looked up by the `Resolver`, and the socket is the
exchange's from before it reaches the proxy, so a proxy that stalls its handshake is cut at the deadline too.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import math
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import socks
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.contrib.socks import (
    SOCKSConnection,
    SOCKSHTTPConnectionPool,
    SOCKSHTTPSConnection,
    SOCKSHTTPSConnectionPool,
)
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

from monitoringapp.transport.resolver import Resolver
from monitoringapp.transport.response_head import QuickHeadersResponse

__all__ = ["Exchange", "RunningClock", "Watchdog", "WatchedAdapter"]

LOOK_EVERY = 0.05
"""While exchanges are armed, how often the watchdog looks at their deadlines at least; and past a deadline, how often
it shuts the exchange's socket down again until it is disarmed (a connection still being made has none yet, and a
redirect's next hop a new one)."""

STALL_AFTER = 1.0
"""How late past its due look the watchdog may be before the time since is taken for a stall of the whole process (a
`kill -STOP`, a paused VM, a host swapping) rather than time the exchanges had. A look is due every LOOK_EVERY while
exchanges are armed, and comes a few ms late on a loaded host, tens of ms where the CPU is starved."""


class RunningClock:
    """A monotonic clock (`raw`) that leaves out the time the process did not run while exchanges were armed: the
    clock an exchange's deadline and its response time are of, so that a probe in flight across a `kill -STOP` of 5 s
    is not cut as a timeout (nor timed 5 s slower) for an answer that was there all along.

    The watchdog says when it is due to look next (`look_due`); a reading more than `stall_after` past that, by any
    thread, finds that nothing ran meanwhile, the watchdog included: the time since the due look (or since the latest
    reading, if later) is left out from then on. No look due (nothing armed): no deadline runs, nothing is left out.

    ```text
    raw:     10.00  10.05(look due)  ...stopped...  15.30
    reads:   10.00                                  10.05   (5.25 s left out; `stalled` says so)
    ```
    """

    __slots__ = ("_due", "_latest", "_lock", "raw", "stall_after", "stalled")

    def __init__(self, raw: Callable[[], float] = time.monotonic, stall_after: float = STALL_AFTER) -> None:
        self.raw = raw
        self.stall_after = stall_after
        self.stalled = 0.0
        """Seconds left out so far."""
        self._due = math.inf  # of this clock: when the watchdog is due to look next
        self._latest = -math.inf  # the latest reading given, which a stall left out never goes back before
        self._lock = threading.Lock()

    def __call__(self) -> float:
        # Read on every thread several times a probe: no lock unless a stall is found (0.1 µs a reading, not 0.5). A
        # reading by a thread that raced a stall's finding was taken before the stall (its raw time before the due
        # look): it is no later than where the clock resumes.
        now = self.raw() - self.stalled
        if now > self._due + self.stall_after:
            return self._stall_found()
        if now > self._latest:
            self._latest = now
        return now

    def _stall_found(self) -> float:
        with self._lock:
            now = self.raw() - self.stalled
            if now > self._due + self.stall_after:  # not found by another thread meanwhile
                resumed = max(self._due, self._latest)
                self.stalled += now - resumed
                now = self._due = resumed  # the next look is due now; until it comes, no stall is found again
            if now > self._latest:
                self._latest = now
            return now

    def look_due(self, at: float) -> None:
        """The watchdog looks next at `at` (of this clock; inf: it sleeps until an exchange is armed)."""
        with self._lock:
            self._due = at

_ARMED, _FIRED, _DONE = 0, 1, 2


class Exchange:
    """One armed exchange (the token `arm` gives): its deadline, the connection it is on, the connections it is done
    with (back to their pools when it is disarmed).

    Made as a `with` block, it is disarmed as the block ends, however it ends; `cut` then says whether its deadline
    passed first (a failure inside was then the timeout's doing). Armed before the `try` whose handlers read it::

        exchange = watchdog.arm(deadline)
        try:
            with exchange:
                answer = send()
        except OSError:
            ...  # exchange.cut: it was the timeout
        if exchange.cut:
            ...  # an answer cut at its deadline reads as ended: not in time
    """

    __slots__ = ("connection", "cut", "deadline", "returned", "sock", "state", "watchdog")

    def __init__(self, deadline: float, watchdog: Watchdog) -> None:
        self.deadline = deadline
        self.watchdog = watchdog
        self.connection: HTTPConnection | None = None
        # The connection's socket as it was connected: http.client hands it over to a response that closes the
        # connection after it (`Connection: close`), leaving `connection.sock` None while the body is still read.
        self.sock: Any = None
        self.returned: list[tuple[HTTPConnectionPool, Any]] | None = None
        self.state = _ARMED
        self.cut = False

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *_: object) -> None:
        self.watchdog.disarm(self)

    def remaining(self) -> float:
        """Seconds left before its deadline; none once it is cut."""
        return self.deadline - self.watchdog.clock() if self.state == _ARMED else 0.0


# The exchange armed on each thread: how a connection, deep inside urllib3, finds the exchange it serves.
_current = threading.local()


class Watchdog:
    """Shuts down the socket of each armed exchange whose deadline has passed, until it is disarmed. Deadlines are of
    `clock`, the raw clock (default `time.monotonic`) less the stalls of the process (`RunningClock`): take them from
    `clock` (`arm(watchdog.clock() + timeout)`). `arm` and `disarm` an exchange on the thread that makes it, one
    exchange at a time per thread. Its exchanges' host names are looked up by `resolver` (default: a `Resolver` of
    `socket.getaddrinfo`)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, name: str = "exchange-watchdog",
                 look_every: float = LOOK_EVERY, resolver: Resolver | None = None,
                 stall_after: float = STALL_AFTER) -> None:
        self.clock = RunningClock(clock, stall_after)
        self.resolver = resolver if resolver is not None else Resolver()
        self.name = name
        self.look_every = look_every
        self._changed = threading.Condition(threading.Lock())
        self._deadlines: list[tuple[float, int, Exchange]] = []  # a heap; its top is always an armed exchange
        self._order = itertools.count()  # ties of deadline broken in arming order (exchanges do not compare)
        self._fired: list[Exchange] = []  # past their deadline and not yet disarmed: shut down again and again
        self._wake_at = math.inf  # when the thread looks next; -inf while it is looking (or starting)
        self._armed_since_look = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self.looks = 0
        """How many times the thread has looked at the deadlines (woken, or started): a figure for tests."""

    def arm(self, deadline: float) -> Exchange:
        """The exchange about to be made on this thread ends at `deadline`."""
        exchange = Exchange(deadline, self)
        with self._changed:
            heapq.heappush(self._deadlines, (deadline, next(self._order), exchange))
            self._armed_since_look = True
            if self._thread is None:
                self._wake_at = -math.inf
                self.clock.look_due(self.clock())
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            elif deadline < self._wake_at:
                if self._wake_at == math.inf:
                    self.clock.look_due(self.clock())  # asleep with nothing to watch: woken now, it looks at once
                self._changed.notify()
        _current.exchange = exchange
        return exchange

    def disarm(self, exchange: Exchange) -> bool:
        """The exchange is over; whether its deadline passed first (its socket was then shut down; `cut` says so
        from now on). Its connections go back to their pools (closed, if it was cut)."""
        _current.exchange = None
        with self._changed:
            fired = exchange.state == _FIRED
            if fired:
                self._fired.remove(exchange)
            exchange.state = _DONE
            exchange.cut = fired
            exchange.connection = exchange.sock = None
            deadlines = self._deadlines
            while deadlines and deadlines[0][2].state == _DONE:
                heapq.heappop(deadlines)
        if exchange.returned is not None:
            _put_back(exchange, fired)
        return fired

    def close(self) -> None:
        """Cuts the exchanges still armed, as if their deadlines had passed (their owner is closing: none may run on
        unwatched, as a notifier's reload gives up on a channel busy with a slow receiver), and ends the thread once
        they are disarmed (an `arm` after this starts it again, which ends as soon as nothing is armed)."""
        with self._changed:
            self._closing = True
            for _, _, exchange in self._deadlines:
                if exchange.state == _ARMED:
                    exchange.state = _FIRED
                    self._fired.append(exchange)
            self._deadlines.clear()
            self._changed.notify()
        self.resolver.wake()  # an exchange waiting for its lookup gives up at once too
        self.resolver.close()

    def _run(self) -> None:
        me = threading.current_thread()
        deadlines, fired = self._deadlines, self._fired
        with self._changed:
            while self._thread is me:
                self.looks += 1
                now = self.clock()
                while deadlines and (deadlines[0][0] <= now or deadlines[0][2].state == _DONE):
                    exchange = heapq.heappop(deadlines)[2]
                    if exchange.state == _ARMED:
                        exchange.state = _FIRED
                        fired.append(exchange)
                for exchange in fired:
                    _shut_down(exchange)
                if deadlines or fired or self._armed_since_look:
                    wake_at = min(deadlines[0][0], now + self.look_every) if deadlines else now + self.look_every
                else:
                    wake_at = math.inf  # quiet: the next `arm` wakes it
                self._armed_since_look = False
                if self._closing and not deadlines and not fired:
                    self._thread = None
                    self.clock.look_due(math.inf)
                    return
                self._wake_at = wake_at
                self.clock.look_due(wake_at)
                self._changed.wait(None if wake_at == math.inf else wake_at - now)
                self._wake_at = -math.inf


def _shut_down(exchange: Exchange) -> None:
    """Shut the exchange's socket down (not close: the exchange's thread still owns it), its connection's, or the
    one handed over to the response. A TLS socket's own `shutdown` would drop its TLS state under the thread reading
    it: the TCP socket beneath is shut instead."""
    connection = exchange.connection
    sock: Any = connection.sock if connection is not None and connection.sock is not None else exchange.sock
    while sock is not None and not isinstance(sock, socket.socket):
        sock = getattr(sock, "socket", None)  # urllib3's SSLTransport (TLS in TLS) wraps the socket
    if sock is not None:
        with contextlib.suppress(OSError):  # closed meanwhile
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _put_back(exchange: Exchange, fired: bool) -> None:
    returned, exchange.returned = exchange.returned or [], None
    for pool, connection in returned:
        connection.exchange = None
        if fired:
            connection.close()  # its socket was shut down: the pool connects it again for the next exchange
        HTTPConnectionPool._put_conn(pool, connection)


class WatchedHTTPConnection(HTTPConnection):
    """A connection that tells the exchange armed on its thread that it serves it: at the request (a kept-alive
    connection is not connected again) and at the connect (urllib3 makes an https connection's handshake before the
    request)."""

    exchange: Exchange | None = None
    response_class = QuickHeadersResponse  # http.client's response, its plain header blocks read without `email`

    def _watch(self) -> None:
        exchange: Exchange | None = getattr(_current, "exchange", None)
        self.exchange = exchange
        if exchange is not None:
            exchange.connection = self
            exchange.sock = self.sock

    def connect(self) -> None:
        self._watch()
        super().connect()
        if self.exchange is not None:
            self.exchange.sock = self.sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._watch()
        if self.sock is None:
            # Connected before the request is built, not by http.client as the headers are sent: a connection
            # refused (a site down) then costs no request line and headers built for nothing (a sixth of such a
            # probe's CPU). urllib3 connects an https connection before this already.
            self.connect()
        super().request(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        """urllib3's, with the host name looked up by the exchange's watchdog's resolver, for at most what is left of
        its deadline. `_dns_host` is what urllib3 looks up (the proxy's name, through one); `host`, what TLS checks
        the certificate against, is left as it is."""
        exchange = self.exchange
        if exchange is None:
            return super()._new_conn()
        try:
            sock = self._connect_for(exchange)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        except TimeoutError as error:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from error
        except OSError as error:
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def _connect_for(self, exchange: Exchange) -> socket.socket:
        return connect_within(exchange, self._dns_host, self.port, self.source_address, self.socket_options)


def _addresses(host: str, port: int, family: int, exchange: Exchange) -> list[Any]:
    """getaddrinfo's answer for `host`, looked up by `exchange`'s watchdog's resolver for at most what is left of its
    deadline."""
    if host.startswith("["):
        host = host.strip("[]")
    try:
        host.encode("idna")
    except UnicodeError:
        raise LocationParseError(f"'{host}', label empty or too long") from None
    return exchange.watchdog.resolver.resolve(host, port, family, socket.SOCK_STREAM, exchange.remaining)


def connect_within(exchange: Exchange, host: str, port: int, source_address: tuple[str, int] | None = None,
                   socket_options: Any = None) -> socket.socket:
    """urllib3's `create_connection` to each address `host` has, its name looked up by `exchange`'s watchdog's
    resolver, each address tried in turn with what is then left of the exchange's deadline: the last one's error
    raised if none connects. The watchdog cannot cut a connect under way (the socket is not the exchange's until it is
    connected), so the deadline bounds it here: with urllib3's connect timeout, fixed when the exchange began, a slow
    lookup and then an address that does not answer took the lookup's time and a whole timeout more, and every
    further address another. Given an address, `create_connection`'s own lookup is of a literal, answered at once
    (an IPv6 one keeps its `%scope`)."""
    def connect(address: Any) -> socket.socket:
        remaining = exchange.remaining()
        if remaining <= 0:
            raise TimeoutError("timed out")
        return create_connection((address[4][0], port), remaining, source_address, socket_options)

    return _first_that_connects(_addresses(host, port, allowed_gai_family(), exchange), connect)


Connected = TypeVar("Connected", bound=socket.socket)


def _first_that_connects(addresses: list[Any], connect: Callable[[Any], Connected]) -> Connected:
    """`connect` to each of getaddrinfo's `addresses` in turn: the first socket that connects, or the last one's
    error if none does."""
    error: OSError | None = None
    for address in addresses:
        try:
            return connect(address)
        except OSError as failed:
            error = failed
    if error is not None:
        raise error
    raise OSError("getaddrinfo returns an empty list")


class WatchedHTTPSConnection(WatchedHTTPConnection, HTTPSConnection):
    """The same over TLS (its `connect` and `request` are `WatchedHTTPConnection`'s, then `HTTPSConnection`'s)."""


class WatchedSOCKSConnection(WatchedHTTPConnection, SOCKSConnection):
    """A connection through a SOCKS proxy (urllib3's `SOCKSConnection`, given the proxy's `_socks_options`) that
    serves the exchange armed on its thread as `WatchedHTTPConnection` does."""

    def _new_conn(self) -> socks.socksocket:
        # `WatchedHTTPConnection`'s, typed as `SOCKSConnection`'s: every socket made here is PySocks'.
        return cast(socks.socksocket, super()._new_conn())

    def _connect_for(self, exchange: Exchange) -> socket.socket:
        """PySocks' `create_connection`, with every host name looked up by the exchange's resolver (PySocks' own
        lookups are `getaddrinfo`'s, unbounded) and the socket the exchange's before it connects (the watchdog shuts
        down a handshake with the proxy still under way at the deadline); its errors told as `WatchedHTTPConnection`
        tells a connection's: the proxy's own refusal (`0x05: Connection refused`, a failed login) is a
        `socks.ProxyError`, an OSError, so a failure to connect as it is without a proxy."""
        return _connect_through_socks(self.host, self.port, self._socks_options, self.timeout, self.source_address,
                                      self.socket_options, exchange)


def _connect_through_socks(host: str, port: int, options: Any, timeout: Any,
                           source_address: tuple[str, int] | None, socket_options: Any,
                           exchange: Exchange) -> socks.socksocket:
    """PySocks' `create_connection` to (`host`, `port`) through the proxy of `options`, with the names looked up by
    `exchange`'s resolver: the proxy's, and the site's unless the proxy resolves it (`rdns`: `socks4a`, `socks5h`).
    Each of the proxy's addresses is tried in turn, and through each, each of the site's addresses, as a connection
    without a proxy tries them. A SOCKS4 proxy takes IPv4 addresses only."""
    proxy_type = options["socks_version"]
    proxy_port = int(options["proxy_port"] or 1080)  # the SOCKS port, as PySocks defaults it
    if not options["rdns"]:
        addresses = _addresses(host, port, allowed_gai_family(), exchange)
        if proxy_type == socks.SOCKS4:
            addresses = [address for address in addresses if address[0] == socket.AF_INET]
            if not addresses:
                # Said as what it is, not as a lookup that failed (what asking for IPv4 only made of it, even of an
                # IPv6 literal): a ProxyError, whose message the probe's `detail` gives.
                raise socks.GeneralProxyError(f"socks4 takes IPv4 addresses only, and {host.strip('[]')} has none "
                                              "(socks4a:// or socks5h:// has the proxy look the name up)")
        # Each in turn (PySocks takes the first only: a name whose first address the proxy cannot reach failed).
        targets = [address[4][0] for address in addresses]
    else:
        targets = [host]

    def through_proxy_at(proxy_and_target: tuple[Any, str]) -> socks.socksocket:
        (family, kind, proto, _, address), target = proxy_and_target
        # Past the deadline (the lookups took it all) the watchdog has already looked, and would not cut this socket.
        remaining = exchange.remaining()
        if remaining <= 0:
            raise TimeoutError("timed out")
        sock = socks.socksocket(family, kind, proto)
        exchange.sock = sock
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(min(timeout, remaining) if isinstance(timeout, int | float) else remaining)
            sock.set_proxy(proxy_type, address[0], proxy_port, options["rdns"], options["username"],
                           options["password"])
            if source_address:
                sock.bind(source_address)
            sock.connect((target, port))
        except OSError as failed:  # socks.ProxyError is one
            sock.close()
            # A socket error PySocks wraps: a stalled handshake is the timeout it wraps, as it is without a proxy.
            wrapped = failed.socket_err if isinstance(failed, socks.ProxyError) else None
            if isinstance(wrapped, TimeoutError):
                raise wrapped from failed
            raise
        return sock

    proxies = _addresses(options["proxy_host"], proxy_port, allowed_gai_family(), exchange)
    return _first_that_connects([(proxy, target) for proxy in proxies for target in targets], through_proxy_at)


class WatchedSOCKSHTTPSConnection(WatchedSOCKSConnection, SOCKSHTTPSConnection):
    """The same over TLS, as urllib3's `SOCKSHTTPSConnection` is `SOCKSConnection` over TLS."""


def _kept_for_its_exchange(pool: HTTPConnectionPool, connection: Any) -> bool:
    """Keep a connection out of its pool until its exchange is disarmed: while it is armed the watchdog may still
    shut its socket down, and by then another exchange could have taken it from the pool."""
    exchange: Exchange | None = getattr(connection, "exchange", None)
    if exchange is None or exchange.state == _DONE:
        return False
    if exchange.returned is None:
        exchange.returned = []
    exchange.returned.append((pool, connection))
    return True


class _PoolKeepingArmedConnections(HTTPConnectionPool):
    """A pool whose connections come back only once their exchange is disarmed (`_kept_for_its_exchange`); the
    watched pools below are each this and urllib3's pool of their kind."""

    def _put_conn(self, conn: Any) -> None:
        if not _kept_for_its_exchange(self, conn):
            super()._put_conn(conn)


class WatchedHTTPConnectionPool(_PoolKeepingArmedConnections):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSConnectionPool(_PoolKeepingArmedConnections, HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


class WatchedSOCKSHTTPConnectionPool(_PoolKeepingArmedConnections, SOCKSHTTPConnectionPool):
    ConnectionCls = WatchedSOCKSConnection


class WatchedSOCKSHTTPSConnectionPool(_PoolKeepingArmedConnections, SOCKSHTTPSConnectionPool):
    ConnectionCls = WatchedSOCKSHTTPSConnection


_WATCHED_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}
# What urllib3's `SOCKSProxyManager` makes (its `SOCKSHTTP(S)ConnectionPool`s are the plain pools with SOCKS
# connections), watched.
_WATCHED_SOCKS_POOLS: dict[str, type[HTTPConnectionPool]] = {
    "http": WatchedSOCKSHTTPConnectionPool, "https": WatchedSOCKSHTTPSConnectionPool}


class WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections serve the exchange armed on their thread (by any `Watchdog`)."""

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = (_WATCHED_SOCKS_POOLS if proxy.lower().startswith("socks")
                                          else _WATCHED_POOLS)
        return manager

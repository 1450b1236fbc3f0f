"""Our own webhook: one POST per notice, its JSON body (`Notice.body`, with `version`) and `Idempotency-Key`.

A 2xx answer is delivered; any other answer, a timeout or a refused connection is a `DeliveryFailed`,
retried by the notifier. Redirects are not followed (a POST that is redirected is not delivered).

The timeout bounds the whole exchange, not each socket operation of it (what requests' own timeout bounds): a
receiver that trickles its status line, headers or body a byte at a time fails at the timeout instead of holding
the channel for as long as it trickles. A watchdog thread (one per channel) shuts the exchange's socket down at the
deadline, which ends any read or write blocked on it; the body (which nothing reads) is drained within what is left
of the timeout, so the kept-alive connection goes back to the pool for the next POST; only an exchange cut by the
timeout, or a body longer than `DRAIN_LIMIT`, closes it.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from monitoringapp import __version__
from monitoringapp.domain.notices import Notice
from monitoringapp.sinks.channels import DeliveryFailed

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_TLS = re.compile(r"\[SSL: [A-Z0-9_]+\] (.+?) \(_ssl")  # `[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify ...`
DRAIN_LIMIT = 64 * 1024
"""An answer's body read (and dropped) to keep its connection; a longer one closes it instead."""
_CHUNK = 16 * 1024
_SHUT_AGAIN = 0.05
"""Past the deadline, how often the watchdog shuts the socket down again until the exchange ends: a connection
still being made has none yet."""


class _Cut(Exception):
    """The answer's body did not end within the timeout."""


class _Watchdog:
    """Shuts down the socket of the exchange in flight once its deadline (`time.monotonic`) has passed: a blocked
    connect, send or read then fails at once, whatever timeout each socket operation has. One exchange at a time
    (a channel sends one notice after another); `arm` before it, `watch` its connection, `disarm` after it.

    Cheap in the normal case: it sleeps until the deadline of the exchange in flight when it last looked, and is woken
    only when idle; an exchange armed and disarmed meanwhile costs two lock acquisitions and no wake-up."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._deadline: float | None = None
        self._connection: HTTPConnection | None = None
        self._fired = False
        self._idle = True
        self._closed = False
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float) -> None:
        with self._changed:
            self._deadline, self._connection, self._fired = deadline, None, False
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhook-watchdog", daemon=True)
                self._thread.start()
            elif self._idle:
                self._changed.notify()

    def watch(self, connection: HTTPConnection) -> None:
        """The connection the exchange goes over (a new one, or one kept alive), as the request is sent on it."""
        with self._changed:
            if self._deadline is not None:
                self._connection = connection

    def disarm(self) -> bool:
        """The exchange is over; whether its deadline passed (its socket was then shut down)."""
        with self._changed:
            fired = self._fired
            self._deadline, self._connection, self._fired = None, None, False
            return fired

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while not self._closed:
                if self._deadline is None:
                    self._idle = True
                    self._changed.wait()
                    self._idle = False
                    continue
                remaining = self._deadline - time.monotonic()
                if remaining > 0:
                    self._changed.wait(remaining)  # a later exchange's deadline is then waited for in turn
                    continue
                self._fired = True
                sock = self._connection.sock if self._connection is not None else None
                if sock is not None:
                    with contextlib.suppress(OSError):  # closed meanwhile
                        sock.shutdown(socket.SHUT_RDWR)  # not close: the exchange's thread still owns the socket
                self._changed.wait(_SHUT_AGAIN)


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter whose connections tell `watchdog` when an exchange goes over them."""

    def __init__(self, watchdog: _Watchdog) -> None:
        self._watchdog = watchdog  # before super().__init__, which makes the pool manager
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        watchdog = self._watchdog

        # Told at the request (a kept-alive connection is not connected again) and at the connect (urllib3 makes an
        # https connection's handshake before the request).
        class Watched(HTTPConnection):
            def connect(self) -> None:
                watchdog.watch(self)
                super().connect()

            def request(self, *args: Any, **kwargs: Any) -> None:
                watchdog.watch(self)
                super().request(*args, **kwargs)

        class WatchedTLS(HTTPSConnection):
            def connect(self) -> None:
                watchdog.watch(self)
                super().connect()

            def request(self, *args: Any, **kwargs: Any) -> None:
                watchdog.watch(self)
                super().request(*args, **kwargs)

        class Pool(HTTPConnectionPool):
            ConnectionCls = Watched

        class TLSPool(HTTPSConnectionPool):
            ConnectionCls = WatchedTLS

        self._pools: dict[str, type[HTTPConnectionPool]] = {"http": Pool, "https": TLSPool}
        self.poolmanager.pool_classes_by_scheme = self._pools

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # a SOCKS proxy's pools make connections of their own
            manager.pool_classes_by_scheme = self._pools
        return manager


class WebhookChannel:
    """POSTs to `url`; each exchange, answer and body included, bounded by `timeout` seconds (of `clock` for the
    body's drain; of `time.monotonic` for the watchdog)."""

    def __init__(self, url: str, timeout: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self.timeout = timeout
        self.clock = clock
        self._watchdog = _Watchdog()
        self._session = requests.Session()
        adapter = _WatchedAdapter(self._watchdog)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._headers = {"User-Agent": f"monitoringApp/{__version__}"}

    def send(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            self._post(notice)

    def _post(self, notice: Notice) -> None:
        self._watchdog.arm(time.monotonic() + self.timeout)
        try:
            self._exchange(notice)
        except DeliveryFailed:
            if self._watchdog.disarm():  # cut at the deadline: whatever broke, it was the timeout
                raise self._late() from None
            raise
        if self._watchdog.disarm():  # a body cut by the watchdog reads as ended: not delivered in time
            raise self._late()

    def _exchange(self, notice: Notice) -> None:
        deadline = self.clock() + self.timeout
        try:
            response = self._session.post(self.url, json=notice.body(), timeout=self.timeout, allow_redirects=False,
                                          headers={**self._headers, "Idempotency-Key": notice.id}, stream=True)
        except requests.Timeout:
            raise self._late() from None
        except requests.exceptions.SSLError as error:  # a ConnectionError too: the TLS reason says more
            reason = _TLS.search(str(error))
            raise DeliveryFailed(f"TLS: {reason.group(1).rstrip('. ') if reason else 'handshake failed'}") from None
        except requests.ConnectionError as error:
            # requests' own text names the URL; the reason alone says what went wrong.
            reason = _ERRNO.search(str(error))
            raise DeliveryFailed(f"cannot connect: {reason.group(1).strip() if reason else 'connection failed'}") \
                from None
        except requests.RequestException as error:
            raise DeliveryFailed(f"request failed: {type(error).__name__}") from None
        with response:  # closes the connection unless the drain put it back in the pool
            try:
                _drain(response.raw, deadline, self.clock)
            except (_Cut, urllib3.exceptions.ReadTimeoutError):
                raise self._late() from None
            except (urllib3.exceptions.HTTPError, OSError):
                pass  # the answer was given; a body broken off after it does not change it
            if not 200 <= response.status_code < 300:
                raise DeliveryFailed(f"HTTP {response.status_code}")

    def _late(self) -> DeliveryFailed:
        return DeliveryFailed(f"no answer within {self.timeout:g} s")

    def close(self) -> None:
        self._session.close()
        self._watchdog.close()


def _drain(raw: urllib3.BaseHTTPResponse, deadline: float, clock: Callable[[], float]) -> None:
    """Read `raw`'s body to its end by `deadline` (urllib3 then puts its connection back in the pool); _Cut if
    it does not end in time. A body longer than DRAIN_LIMIT is left unread: its connection is closed with the
    response, as reading on would cost more than a new connection."""
    sock: Any = getattr(getattr(raw, "connection", None), "sock", None)
    budget = DRAIN_LIMIT + 1
    while budget > 0:
        remaining = deadline - clock()
        if remaining <= 0:
            raise _Cut
        if sock is not None:
            sock.settimeout(remaining)  # no single read outlasts the deadline
        # read1: what has arrived (read() waits for the whole chunk, so a trickle could outlive the deadline).
        chunk = raw.read1(min(_CHUNK, budget), decode_content=False)
        if not chunk:
            return
        budget -= len(chunk)

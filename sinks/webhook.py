"""Our own webhook: one POST per notice, its JSON body (`Notice.body`, with `version`) and `Idempotency-Key`.

A 2xx answer is delivered; any other answer, a timeout or a refused connection is a `DeliveryFailed`,
retried by the notifier. Redirects are not followed (a POST that is redirected is not delivered).

The timeout bounds the whole exchange, not each socket operation of it (what requests' own timeout bounds): a
receiver that trickles its status line, headers or body a byte at a time fails at the timeout instead of holding
the channel for as long as it trickles. A watchdog thread (`transport.watchdog`, one per channel) shuts the
exchange's socket down at the deadline, which ends any read or write blocked on it; the body (which nothing reads) is
drained within what is left of the timeout (`transport.body`), so the kept-alive connection goes back to the pool
for the next POST; only an exchange cut by the timeout, or a body longer than `DRAIN_LIMIT`, closes it. The receiver's
host name is looked up within the same timeout (`transport.resolver`): a DNS server that does not answer fails the
POST at it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import requests
import urllib3

from monitoringapp import __version__
from monitoringapp.domain.notices import Notice
from monitoringapp.sinks.channels import DeliveryFailed
from monitoringapp.transport.body import BodyTimeout, read_body
from monitoringapp.transport.errors import socks_refusal
from monitoringapp.transport.resolver import Resolver, unanswered_lookup
from monitoringapp.transport.watchdog import Watchdog, WatchedAdapter

_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")
_TLS = re.compile(r"\[SSL: [A-Z0-9_]+\] (.+?) \(_ssl")  # `[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify ...`
DRAIN_LIMIT = 64 * 1024
"""An answer's body read (and dropped) to keep its connection; a longer one closes it instead, as reading on would
cost more than a new connection."""


class _Unresolved(DeliveryFailed):
    """The receiver's host name was not looked up within the timeout: said so, even when the watchdog fired too."""


class WebhookChannel:
    """POSTs to `url`; each exchange, answer and body included, bounded by `timeout` seconds (of `clock` for the
    body's drain, default the watchdog's: `time.monotonic` less the stalls of the process); its host name looked up
    by `resolver` (default: a `Resolver` of getaddrinfo, two threads: one receiver's name needs one)."""

    def __init__(self, url: str, timeout: float = 10.0, clock: Callable[[], float] | None = None,
                 resolver: Resolver | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self._watchdog = Watchdog(name="webhook-watchdog", resolver=resolver if resolver is not None
                                  else Resolver(threads=2, name="webhook-dns-lookup"))
        self.clock = clock if clock is not None else self._watchdog.clock
        self._session = requests.Session()
        adapter = WatchedAdapter()
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._headers = {"User-Agent": f"monitoringApp/{__version__}"}
        self._closed = False

    def send(self, notices: Sequence[Notice]) -> None:
        for notice in notices:
            self._post(notice)

    def _post(self, notice: Notice) -> None:
        exchange = self._watchdog.arm(self._watchdog.clock() + self.timeout)
        try:
            with exchange:
                self._exchange(notice)
        except DeliveryFailed as failure:
            # Cut at the deadline: whatever broke, it was the timeout; a lookup given up on at it says so itself.
            if exchange.cut and (self._closed or not isinstance(failure, _Unresolved)):
                raise self._late() from None
            raise
        if exchange.cut:  # a body cut by the watchdog reads as ended: not delivered in time
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
            unanswered = unanswered_lookup(error)
            if unanswered is not None:
                raise _Unresolved(f"cannot connect: {unanswered.strerror} ({self.timeout:g} s)") from None
            refusal = socks_refusal(error)  # the proxy's own answer (`0x02: Connection not allowed by ruleset`)
            if refusal is not None:
                raise DeliveryFailed(f"cannot connect: {refusal}") from None
            # requests' own text names the URL; the reason alone says what went wrong.
            reason = _ERRNO.search(str(error))
            raise DeliveryFailed(f"cannot connect: {reason.group(1).strip() if reason else 'connection failed'}") \
                from None
        except requests.RequestException as error:
            raise DeliveryFailed(f"request failed: {type(error).__name__}") from None
        with response:  # closes the connection unless the drain put it back in the pool
            try:
                read_body(response.raw, deadline, DRAIN_LIMIT, self.clock)  # drained: nothing reads it
            except (BodyTimeout, urllib3.exceptions.ReadTimeoutError):
                raise self._late() from None
            except (urllib3.exceptions.HTTPError, OSError):
                pass  # the answer was given; a body broken off after it does not change it
            if not 200 <= response.status_code < 300:
                raise DeliveryFailed(f"HTTP {response.status_code}")

    def _late(self) -> DeliveryFailed:
        if self._closed:
            return DeliveryFailed("cut: the channel was closed before the answer came")
        return DeliveryFailed(f"no answer within {self.timeout:g} s")

    def close(self) -> None:
        """Cuts a POST still in flight (`Watchdog.close`): a channel given up on is not left sending unwatched."""
        self._closed = True
        self._session.close()
        self._watchdog.close()


"""The probe transport: one request of a site (GET unless its config says otherwise), its outcome measured,
classified and judged by the site's conditions; a `tcp://` site is probed by a connect (`tcp_probe`).

Uses a pooled `requests` session (keep-alive). Each site's request is prepared
once and sent through the session's adapter's urllib3 pool, as `HTTPAdapter.send` would send it (its route
looked up once per URL, no `requests.Response` built): about a third of `Session.get` per probe; redirects
are then followed here (or not, `followRedirects`). At most
`body_limit` bytes of the body are read (and one more, to tell whether there is more), and the whole probe is
bounded by the site's timeout, so a huge or trickling response cannot hold a worker: urllib3's timeout bounds each
socket operation, the body's reads are bounded by the deadline (`transport.body`), and a watchdog
(`transport.watchdog`) shuts the socket of a probe still in flight at its deadline down (a status line or headers
trickled a byte at a time, a slow handshake); such a probe is a `timeout`. The host name's lookup waits at most
until the deadline too (`transport.resolver`); one that did not answer by then is a `dns` failure that says so. The
bytes read are kept only for a site whose conditions read the body (which is then asked for without compression).

An https probe reads its certificate's notAfter from the connection it used (no second handshake); a
connection older than `reconnect_after` (an hour) is closed after its probe, so a renewed certificate is seen
within the hour. A certificate the verifier refuses is a `tls` failure with the verifier's reason as `detail`.

Proxies are honoured as every HTTP tool does: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`
(either case), read once when the prober is made, and looked up once per URL, so a probe costs no
environment read. A SOCKS proxy (`socks5h://`, ...) is watched as any exchange is; its own refusal to connect a probe
is a `connection` failure that says what it answered in `detail`.
"""

from __future__ import annotations

import calendar
import contextlib
import socket
import ssl
import time
import weakref
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from monitoringapp import __version__
from monitoringapp.domain.checks import BODY_LIMIT, REDIRECT_STATUSES, ProbeOutcome, body_charset
from monitoringapp.domain.config import TCP, SiteConfig
from monitoringapp.domain.events import LOCAL, ErrorKind
from monitoringapp.domain.secrets import Secrets
from monitoringapp.domain.sites import shown_in_error, shown_url
from monitoringapp.streams.tcp_probe import tcp_probe
from monitoringapp.transport.body import UndecodableBody, read_body
from monitoringapp.transport.errors import carried_errors, network_reason, socks_refusal
from monitoringapp.transport.proxies import Proxies
from monitoringapp.transport.resolver import Resolver, unanswered_lookup
from monitoringapp.transport.watchdog import Watchdog, WatchedAdapter, connect_within

__all__ = ["BODY_LIMIT", "HttpProber", "ProbeOutcome", "classify", "user_agent"]

MAX_REDIRECTS = 10
RECONNECT_AFTER = 3600.0
# How long a redirect's body may take to end before its connection is given up rather than kept (seconds).
REDIRECT_BODY_WAIT = 0.1
# One attempt, as requests' default `Retry(0, read=False)` makes, its failure raised as urllib3 raised it (mapped to
# requests' exception as `HTTPAdapter.send` maps the reason of the MaxRetryError it would have been wrapped in):
# counting the attempt and wrapping its error were a tenth of a refused connection's probe.
ONE_ATTEMPT = urllib3.Retry(total=False, redirect=False)
# Prepared requests are kept for the sites probed lately: after about twice as many probes as it holds (and at least
# this many), the cache starts again from those probed since, so a site a reload removed or changed leaves it.
PREPARED_TURN_AFTER = 1000


class BadRedirect(requests.exceptions.InvalidURL):
    """A redirect whose Location is no URL; its message says so and quotes it."""


class TooManyRedirects(requests.TooManyRedirects):
    """More redirects than MAX_REDIRECTS; its message says where the last went (a password in it as `***`)."""


def user_agent(location: str) -> str:
    return f"monitoringApp/{__version__} (location={location})"


class HttpProber:
    """Sends each site's request over one keep-alive session; thread-safe (urllib3's pools are)."""

    def __init__(self, pool_size: int = 64, body_limit: int = BODY_LIMIT, proxies: Proxies | None = None,
                 location: str = LOCAL, reconnect_after: float = RECONNECT_AFTER,
                 resolver: Resolver | None = None, prepared_turn_after: int = PREPARED_TURN_AFTER) -> None:
        self.body_limit = body_limit
        self.reconnect_after = reconnect_after
        self.proxies = proxies if proxies is not None else Proxies.from_environment()
        self._hidden: dict[Secrets, Secrets] = {}  # a site's secrets -> with the proxies' added
        self._proxies_of: dict[str, dict[str, str]] = {}
        self.session = requests.Session()
        # Site owners can tell our traffic, and which location it comes from.
        self.session.headers["User-Agent"] = user_agent(location)
        # Its connections tell the watchdog which probe they serve: it cuts a probe at its deadline, and its resolver
        # (threads of their own for names not in the hosts file) waits for their host names' lookups until then.
        self._watchdog = Watchdog(clock=time.perf_counter, name="probe-deadlines",
                                  resolver=resolver if resolver is not None else Resolver(name="probe-dns-lookup"))
        self._pool_size = max(10, pool_size)
        adapter = WatchedAdapter(pool_connections=self._pool_size, pool_maxsize=self._pool_size)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # (URL, request) -> the request prepared for it: those probed since the last turn, and before it.
        self._prepared: dict[tuple[str, Any], requests.PreparedRequest] = {}
        self._prepared_before: dict[tuple[str, Any], requests.PreparedRequest] = {}
        self._prepares_since_turn = 0
        self._prepared_turn_after = prepared_turn_after
        # (URL, verify, cert) -> (urllib3 pool, request target, retries): what the adapter works out for each send.
        self._routes: dict[tuple[str, bool | str, str | tuple[str, str] | None], tuple[Any, str, Any]] = {}
        # Each TLS socket's birth (monotonic) and certificate notAfter, read once per connection.
        self._tls: weakref.WeakKeyDictionary[Any, tuple[float, float | None]] = weakref.WeakKeyDictionary()
        # A site that does not verify TLS says so in its config: no warning per probe.
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def _prepare(self, site: SiteConfig) -> requests.PreparedRequest:
        """The site's request, prepared once and kept while the site is probed. Every (URL, request) a reload
        brings is a new key (about 2 kB each): kept for ever, those of sites removed or changed grew the monitor
        for as long as it ran. Probe threads call this at once; a race between them at most prepares one again."""
        key = (site.probe_url, site.request)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared_before.get(key)
            if prepared is None:
                request = site.request
                prepared = self.session.prepare_request(
                    requests.Request(request.method, site.probe_url, headers=_request_headers(site),
                                     data=request.body.encode() if request.body is not None else None))
            self._prepared[key] = prepared
        self._prepares_since_turn += 1
        if self._prepares_since_turn > max(self._prepared_turn_after, 2 * len(self._prepared)):
            self._prepared_before, self._prepared = self._prepared, {}
            self._prepares_since_turn = 0
        return prepared

    def make_room_for(self, sites: int) -> None:
        """Keep-alive room for `sites` sites (a reload's config). Sized for the first config's only, a host probed
        by more sites at once than that kept only that many connections: the others were dropped as they came back
        (urllib3's "Connection pool is full") and made again at their next probe, a connect (and a TLS handshake)
        in its response time. Grown, the pools are made anew: each site connects once more, and the old connections
        close as the probes using them end. Never shrunk: room unused costs nothing."""
        size = max(10, sites)
        if size <= self._pool_size:
            return
        self._pool_size = size
        for adapter in {id(adapter): adapter for adapter in self.session.adapters.values()}.values():
            if isinstance(adapter, HTTPAdapter):
                adapter.init_poolmanager(size, size)
                adapter.proxy_manager.clear()  # made again as needed, of the new size
        self._routes.clear()  # their pools are the old manager's

    @property
    def prepared_requests(self) -> int:
        """How many prepared requests are kept."""
        return len(self._prepared.keys() | self._prepared_before.keys())

    def probe(self, url: str, timeout: float) -> ProbeOutcome:
        """GET `url`, following redirects, up below 400; never raises for a network failure."""
        return self.check(SiteConfig(url, timeout, timeout))

    def check(self, site: SiteConfig) -> ProbeOutcome:
        """Probe `site` as its config says and judge the answer by its conditions; never raises for a network
        failure. A `detail` holds none of the site's secrets."""
        # The watchdog's clock, which leaves out a stall of the whole process (`transport.watchdog.RunningClock`).
        clock = self._watchdog.clock
        secrets = self._secrets_of(site)
        if site.scheme == TCP:
            with self._watchdog.arm(clock() + site.timeout) as connection:
                return tcp_probe(site.probe_url, site.conditions,
                                 lambda host, port: connect_within(connection, host, port), clock)
        started = clock()
        deadline = started + site.timeout
        conditions = site.conditions
        exchange = self._watchdog.arm(deadline)
        try:
            with exchange:
                status, body, complete, expiry, charset = self._exchange(site, deadline)
        except Exception as error:
            # A lookup that did not answer in time is a `dns` failure, as glibc's own resolver timeout is, however
            # short the site's timeout: it ends at the deadline like the watchdog, which may have fired first.
            carried = carried_errors(error)  # read by each step below: walked once
            unanswered = unanswered_lookup(error, carried)
            if exchange.cut and unanswered is None:
                return ProbeOutcome(None, None, ErrorKind.TIMEOUT, None)  # cut at its deadline: it was the timeout
            kind = classify(error, carried)
            if kind is ErrorKind.OTHER and not _is_network_error(error):
                raise
            reason = (tls_reason(error, carried) if kind is ErrorKind.TLS
                      else str(error) if isinstance(error, BadRedirect | TooManyRedirects | UndecodableBody)
                      else unanswered.strerror if unanswered is not None
                      else socks_refusal(error, carried)
                      or (network_reason(error, carried) if kind is not ErrorKind.TIMEOUT else None))
            reason = secrets.redact_optional(reason)
            return ProbeOutcome(None, None, kind, reason)
        if exchange.cut:  # an answer cut at its deadline reads as ended: not in time
            return ProbeOutcome(None, None, ErrorKind.TIMEOUT, None)
        elapsed = clock() - started
        judged, detail = conditions.judge(status, body, complete, elapsed, self.body_limit, secrets, charset)
        expected = conditions.expected_status
        up = judged is None and (status < 400 if expected is None else status in expected)
        if detail is not None:  # a reason may quote the body, and a body may echo what the probe sent
            detail = secrets.redact(detail)
        return ProbeOutcome(status, elapsed * 1000.0, judged, detail, expiry, up)

    def _secrets_of(self, site: SiteConfig) -> Secrets:
        """What no detail of `site`'s probe may show: its own secrets and the proxies' passwords."""
        if not self.proxies.secrets.values:
            return site.secrets
        hidden = self._hidden.get(site.secrets)
        if hidden is None:
            if len(self._hidden) > 10_000:  # reloads bringing ever new secrets must not grow it for ever
                self._hidden.clear()
            hidden = self._hidden[site.secrets] = site.secrets + self.proxies.secrets
        return hidden

    def _exchange(self, site: SiteConfig, deadline: float) -> tuple[int, bytes, bool, float | None, str | None]:
        """(status, the body's first bytes if kept, whether that is all of it, the certificate's notAfter, the
        charset its Content-Type names if kept)."""
        prepared = self._prepare(site)
        request = site.request
        keep = site.conditions.reads_body
        for _hop in range(MAX_REDIRECTS + 1):
            remaining = deadline - self._watchdog.clock()
            if remaining <= 0:
                raise requests.Timeout(f"no answer from {site.url} in time")
            target = prepared.url or site.probe_url
            raw = self._send(prepared, target, remaining, request.verify, request.cert)
            try:
                status = raw.status
                location = (raw.headers.get("location")
                            if request.follow_redirects and status in REDIRECT_STATUSES else None)
                if location is None:
                    connection = raw.connection
                    sock = getattr(connection, "sock", None)
                    if target[:6].lower() == "https:":
                        expiry, old = self._certificate(sock if sock is not None else _handed_over(raw))
                    else:
                        expiry, old = None, False
                    if old:
                        # Never back to the pool (where another probe could take it while it is closed below):
                        # the pool makes a new connection for the next probe, with a new handshake.
                        raw._connection = None  # type: ignore[attr-defined]
                    body, complete = self._read_bounded(raw, deadline, keep, sock)
                    if old and connection is not None:
                        connection.close()
                    charset = body_charset(raw.headers.get("content-type")) if keep else None
                    return status, body, complete, expiry, charset
                # The redirect's own body (mostly none, sent with its headers) read to its end within the body
                # limit, so that its connection goes back to the pool for the next hop or probe instead of being
                # closed: a new connection per hop and probe otherwise. One that has not ended within
                # REDIRECT_BODY_WAIT, or breaks off, is left and its connection closed, as before: a redirect is
                # followed whatever its body.
                with contextlib.suppress(urllib3.exceptions.HTTPError, OSError):
                    self._read_bounded(raw, min(deadline, self._watchdog.clock() + REDIRECT_BODY_WAIT), False)
            finally:
                # As `requests.Response.close` does: a body read to its end has already put the connection
                # back in the pool; one that was not is closed with it.
                raw.close()
                raw.release_conn()
            try:
                following = urljoin(target, location)
            except ValueError as error:  # `http://[::1/`: the server's mistake, a failing probe like any other
                raise BadRedirect(  # a password in it (the server's own, not the site's) as `***` too
                    f"redirect to a Location that is no URL ({error}): {shown_in_error(location)}") from None
            prepared = self._next_hop(prepared, status, following, site)
        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects (the last to {shown_url(prepared.url or '')})")

    def _send(self, prepared: requests.PreparedRequest, url: str, timeout: float, verify: bool | str,
              cert: str | tuple[str, str] | None = None) -> urllib3.BaseHTTPResponse:
        """What `HTTPAdapter.send(prepared, stream=True, ...)` does, with the urllib3 response as it comes: the
        same pool, proxy, TLS settings and errors, but the route (pool, request target) looked up once per URL
        and no `requests.Response` built around the answer (with its headers copied and its cookies extracted).
        Measured (200 sites, sequential, 5 repeats x 3 interleaved): 0.32 ms of CPU per probe before, 0.20 after."""
        route = self._routes.get((url, verify, cert))
        if route is None or route[0].pool is None:  # new, or its pool was closed (dropped by the manager)
            route = self._route(prepared, url, verify, cert)
        pool, target, retries = route
        body = prepared.body
        try:
            return pool.urlopen(  # type: ignore[no-any-return]
                prepared.method, target, body=body, headers=prepared.headers, redirect=False,
                assert_same_host=False, preload_content=False, decode_content=False, retries=retries,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                chunked=not (body is None or "Content-Length" in prepared.headers))
        except Exception as error:
            translated = _as_requests_error(error, prepared)
            if translated is error:
                raise
            raise translated from error

    def _route(self, prepared: requests.PreparedRequest, url: str, verify: bool | str,
               cert: str | tuple[str, str] | None) -> tuple[Any, str, Any]:
        adapter = self.session.get_adapter(url)
        if not isinstance(adapter, HTTPAdapter):
            raise requests.exceptions.InvalidSchema(f"no HTTP adapter for {url}")
        proxies = self._proxies_for(url)
        try:
            # A client certificate keys its own pools: its connections are never another site's.
            pool = adapter.get_connection_with_tls_context(prepared, verify, proxies=proxies, cert=cert)
        except urllib3.exceptions.LocationValueError as error:
            raise requests.exceptions.InvalidURL(error, request=prepared) from error
        adapter.cert_verify(pool, url, verify, cert)  # type: ignore[no-untyped-call]
        retries = adapter.max_retries
        if retries.total == 0:  # requests' default: one attempt, its failure raised
            retries = ONE_ATTEMPT
        route = (pool, adapter.request_url(prepared, proxies), retries)
        if len(self._routes) > 10_000:  # redirects to ever new URLs must not grow it for ever
            self._routes.clear()
        self._routes[(url, verify, cert)] = route
        return route

    def _next_hop(self, prepared: requests.PreparedRequest, status: int, url: str,
                  site: SiteConfig) -> requests.PreparedRequest:
        """The request a redirect asks for, as browsers make it: a 303 (and a 301 or 302 to a POST) becomes a
        GET without body, a 307 or 308 repeats the request; the site's headers go along only while the
        redirects stay on its scheme, host and port (never an Authorization to another host)."""
        method = prepared.method or "GET"
        body = prepared.body
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
        elif status not in (307, 308):
            body = None
        same_origin = urlsplit(url)[:2] == urlsplit(prepared.url or "")[:2]
        headers = _request_headers(site)
        if not same_origin:  # what the body and its reading need goes along, not what may hold a secret
            headers = {name: value for name, value in headers.items() if name.lower() in _BODY_HEADERS}
        if body is None:
            headers = {name: value for name, value in headers.items() if name.lower() != "content-type"}
        return self.session.prepare_request(requests.Request(method, url, headers=headers, data=body))

    def _certificate(self, sock: Any) -> tuple[float | None, bool]:
        """The notAfter of the certificate of the TLS socket `sock` (read once per connection), and whether the
        connection is older than `reconnect_after`."""
        if sock is None:
            return None, False
        known = self._tls.get(sock)
        if known is None:
            try:
                der = sock.getpeercert(binary_form=True)
            except (ValueError, OSError, AttributeError):
                der = None
            known = (time.monotonic(), certificate_not_after(der) if der else None)
            with contextlib.suppress(TypeError):  # a socket type that takes no weak reference: read it again
                self._tls[sock] = known
        return known[1], time.monotonic() - known[0] >= self.reconnect_after

    def _proxies_for(self, url: str) -> dict[str, str]:
        proxies = self._proxies_of.get(url)
        if proxies is None:
            if len(self._proxies_of) > 10_000:  # redirects to ever new URLs must not grow it for ever
                self._proxies_of.clear()
            proxies = self._proxies_of[url] = self.proxies.for_url(url)
        return proxies

    def _read_bounded(self, raw: urllib3.BaseHTTPResponse, deadline: float, keep: bool,
                      sock: Any = None) -> tuple[bytes, bool]:
        """`read_body` within `body_limit`, by the probe's clock (the watchdog's)."""
        return read_body(raw, deadline, self.body_limit, self._watchdog.clock, keep=keep, sock=sock)

    def close(self) -> None:
        self.session.close()
        self._watchdog.close()


_BODY_HEADERS = frozenset(("content-type", "accept-encoding"))
"""The headers a redirect to another site keeps: what its body is, and how its answer's is read."""


def _request_headers(site: SiteConfig) -> dict[str, str]:
    """The headers of `site`'s request, each hop's: its own, the identity encoding a body condition reads, and the
    Content-Type of a body the config gave as JSON (unless its own headers say)."""
    request = site.request
    headers = dict(request.values)
    names = {name.lower() for name in headers}
    if site.conditions.reads_body and "accept-encoding" not in names:
        headers["Accept-Encoding"] = "identity"  # the body's own bytes, not a compressed stream
    if request.json_body and "content-type" not in names:
        headers["Content-Type"] = "application/json"
    return headers


def _handed_over(raw: urllib3.BaseHTTPResponse) -> Any:
    """The socket of an answer that closes its connection (HTTP/1.0, `Connection: close`): http.client hands it over
    to the response, and the connection holds none; the response's file of it still does (http.client's
    `HTTPResponse.fp`, a buffer over a `SocketIO`), until the body is read. Only its certificate is read from it."""
    reader = getattr(getattr(raw, "_fp", None), "fp", None)
    return getattr(getattr(reader, "raw", None), "_sock", None)


def classify(error: BaseException, carried: Sequence[BaseException] | None = None) -> ErrorKind:
    """The `ErrorKind` of a failed request, from the exception and its causes (`carried`: `carried_errors(error)`, if
    already found)."""
    if isinstance(error, requests.TooManyRedirects | BadRedirect):
        return ErrorKind.REDIRECTS
    chain = carried if carried is not None else carried_errors(error)

    def found(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    if found(requests.exceptions.SSLError, ssl.SSLError, urllib3.exceptions.SSLError):
        return ErrorKind.TLS
    if found(urllib3.exceptions.NameResolutionError, socket.gaierror):
        return ErrorKind.DNS
    # urllib3's NewConnectionError (refused, unreachable) subclasses its ConnectTimeoutError,
    # so a refusal is told apart before timeouts are looked for.
    if found(urllib3.exceptions.NewConnectionError, ConnectionError):
        return ErrorKind.CONNECTION
    if found(requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError):
        return ErrorKind.TIMEOUT
    if found(requests.ConnectionError, urllib3.exceptions.ProtocolError,
             requests.exceptions.ChunkedEncodingError, OSError):
        return ErrorKind.CONNECTION
    return ErrorKind.OTHER


def _as_requests_error(error: Exception, request: requests.PreparedRequest) -> Exception:
    """The exception `HTTPAdapter.send` raises for urllib3's `error` (the same mapping, so `classify` and the
    probe's callers see what they would through `requests`)."""
    errors = urllib3.exceptions
    if isinstance(error, errors.MaxRetryError):
        reason = error.reason
        if isinstance(reason, errors.ConnectTimeoutError) and not isinstance(reason, errors.NewConnectionError):
            return requests.ConnectTimeout(error, request=request)
        if isinstance(reason, errors.ResponseError):
            return requests.exceptions.RetryError(error, request=request)
        if isinstance(reason, errors.ProxyError):
            return requests.exceptions.ProxyError(error, request=request)
        if isinstance(reason, errors.SSLError):
            return requests.exceptions.SSLError(error, request=request)
        return requests.ConnectionError(error, request=request)
    # What a MaxRetryError's reason is mapped to, raised as it is (`ONE_ATTEMPT`).
    if isinstance(error, errors.ConnectTimeoutError) and not isinstance(error, errors.NewConnectionError):
        return requests.ConnectTimeout(error, request=request)
    if isinstance(error, errors.NewConnectionError | errors.ProtocolError | OSError | errors.ClosedPoolError):
        return requests.ConnectionError(error, request=request)
    if isinstance(error, errors.ProxyError):
        return requests.exceptions.ProxyError(error, request=request)
    if isinstance(error, errors.SSLError):
        return requests.exceptions.SSLError(error, request=request)
    if isinstance(error, errors.ReadTimeoutError):
        return requests.ReadTimeout(error, request=request)
    if isinstance(error, errors.InvalidHeader):
        return requests.exceptions.InvalidHeader(error, request=request)
    return error


def tls_reason(error: BaseException, carried: Sequence[BaseException] | None = None) -> str:
    """The TLS verifier's reason for refusing a connection (`certificate has expired`, `Hostname mismatch,
    ...`), or the TLS error's own, in one line."""
    chain = carried if carried is not None else carried_errors(error)
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {cause.verify_message}".rstrip(". ")
    for cause in chain:
        if isinstance(cause, ssl.SSLError):
            return f"TLS error: {cause.reason or cause.strerror or type(cause).__name__}"
    return "TLS error"


def certificate_not_after(der: bytes) -> float | None:
    """The notAfter (UTC epoch seconds) of a DER-encoded X.509 certificate; None if it cannot be read.

    Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature,
    issuer, validity SEQUENCE { notBefore, notAfter }, ... }, ... }: six steps into the DER, no library."""
    try:
        position = _enter(der, 0)  # Certificate
        position = _enter(der, position)  # tbsCertificate
        if der[position] == 0xA0:  # [0] EXPLICIT version
            position = _skip(der, position)
        for _ in range(3):  # serialNumber, signature, issuer
            position = _skip(der, position)
        position = _enter(der, position)  # validity
        position = _skip(der, position)  # notBefore
        tag = der[position]
        start, length = _length(der, position + 1)
        text = der[start:start + length].decode("ascii")
        if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ: years 50-99 are 19xx
            year = int(text[:2])
            text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
        elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
            return None
        moment = time.strptime(text.rstrip("Z")[:14], "%Y%m%d%H%M%S")
        return float(calendar.timegm(moment))
    except (IndexError, ValueError):
        return None


def _length(der: bytes, position: int) -> tuple[int, int]:
    """(where the content starts, its length) of the element whose length octets begin at `position`."""
    first = der[position]
    if first < 0x80:
        return position + 1, first
    count = first & 0x7F
    return position + 1 + count, int.from_bytes(der[position + 1:position + 1 + count], "big")


def _enter(der: bytes, position: int) -> int:
    """Where the content of the constructed element at `position` starts."""
    return _length(der, position + 1)[0]


def _skip(der: bytes, position: int) -> int:
    """Where the element after the one at `position` starts."""
    start, length = _length(der, position + 1)
    return start + length


def _is_network_error(error: BaseException) -> bool:
    return isinstance(error, requests.RequestException | urllib3.exceptions.HTTPError | OSError)

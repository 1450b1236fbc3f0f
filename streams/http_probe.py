"""The probe transport: one HTTP GET of a site, its outcome measured and classified.

Uses a pooled `requests` session (keep-alive). Each site's request is prepared
once and sent through the session's adapter, which costs about half of
`Session.get` per probe; redirects are then followed here. At most
`body_limit` bytes of the body are read, and the whole probe is bounded by the
site's timeout, so a huge or trickling response cannot hold a worker.

Proxies are honoured as every HTTP tool does: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`
(either case), read once when the prober is made, and looked up once per URL, so a probe costs no
environment read.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from monitoringapp import __version__
from monitoringapp.domain.events import LOCAL, ErrorKind

MAX_REDIRECTS = 10
BODY_LIMIT = 64 * 1024
_CHUNK = 16 * 1024


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    status: int | None
    response_time_ms: float | None
    error: ErrorKind | None

    @property
    def available(self) -> bool:
        return self.status is not None and self.status < 400


def user_agent(location: str) -> str:
    return f"monitoringApp/{__version__} (location={location})"


class Proxies:
    """The proxies of an environment (`getproxies_environment`'s reading of `*_PROXY`): which, if any, a URL
    goes through."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.by_scheme = {scheme: url for scheme, url in environment.items() if scheme != "no" and url}
        self.bypass = [entry.strip().lower() for entry in environment.get("no", "").split(",") if entry.strip()]

    @classmethod
    def from_environment(cls) -> Proxies:
        return cls(urllib.request.getproxies_environment())

    def for_url(self, url: str) -> dict[str, str]:
        """`requests`' proxies argument for `url`: its scheme's proxy (or ALL_PROXY's), none when NO_PROXY
        matches its host."""
        parts = urlsplit(url)
        proxy = self.by_scheme.get(parts.scheme) or self.by_scheme.get("all")
        if proxy is None or self._bypassed(parts.hostname or "", parts.port):
            return {}
        return {parts.scheme: proxy}

    def _bypassed(self, host: str, port: int | None) -> bool:
        for entry in self.bypass:
            if entry == "*":
                return True
            name, _, entry_port = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
            if entry_port and str(port) != entry_port:
                continue
            if "/" in name:
                try:
                    if ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False):
                        return True
                except ValueError:
                    pass
                continue
            name = name.lstrip(".")
            if host == name or host.endswith("." + name):
                return True
        return False


class HttpProber:
    """Sends GETs over one keep-alive session; thread-safe (urllib3's pools are)."""

    def __init__(self, pool_size: int = 64, body_limit: int = BODY_LIMIT, proxies: Proxies | None = None,
                 location: str = LOCAL) -> None:
        self.body_limit = body_limit
        self.proxies = proxies if proxies is not None else Proxies.from_environment()
        self._proxies_of: dict[str, dict[str, str]] = {}
        self.session = requests.Session()
        # Site owners can tell our traffic, and which location it comes from.
        self.session.headers["User-Agent"] = user_agent(location)
        adapter = HTTPAdapter(pool_connections=max(10, pool_size), pool_maxsize=max(10, pool_size))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._prepared: dict[str, requests.PreparedRequest] = {}

    def _prepare(self, url: str) -> requests.PreparedRequest:
        prepared = self._prepared.get(url)
        if prepared is None:
            prepared = self._prepared[url] = self.session.prepare_request(requests.Request("GET", url))
        return prepared

    def probe(self, url: str, timeout: float) -> ProbeOutcome:
        """GET `url`, following redirects; never raises for a network failure."""
        started = time.perf_counter()
        deadline = started + timeout
        try:
            status = self._get(url, deadline)
        except Exception as error:
            kind = classify(error)
            if kind is ErrorKind.OTHER and not _is_network_error(error):
                raise
            return ProbeOutcome(None, None, kind)
        return ProbeOutcome(status, (time.perf_counter() - started) * 1000.0, None)

    def _get(self, url: str, deadline: float) -> int:
        prepared = self._prepare(url)
        for _hop in range(MAX_REDIRECTS + 1):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise requests.Timeout(f"no answer from {url} in time")
            target = prepared.url or url
            adapter = self.session.get_adapter(target)
            response = adapter.send(prepared, stream=True, timeout=remaining, verify=True,
                                    proxies=self._proxies_for(target))
            try:
                location = response.headers.get("location") if response.is_redirect else None
                if location is None:
                    self._read_bounded(response, deadline)
                    return response.status_code
            finally:
                response.close()
            prepared = self.session.prepare_request(requests.Request("GET", urljoin(prepared.url or url, location)))
        raise requests.TooManyRedirects(f"more than {MAX_REDIRECTS} redirects from {url}")

    def _proxies_for(self, url: str) -> dict[str, str]:
        proxies = self._proxies_of.get(url)
        if proxies is None:
            if len(self._proxies_of) > 10_000:  # redirects to ever new URLs must not grow it for ever
                self._proxies_of.clear()
            proxies = self._proxies_of[url] = self.proxies.for_url(url)
        return proxies

    def _read_bounded(self, response: requests.Response, deadline: float) -> None:
        """Read the body up to `body_limit` bytes; a complete body leaves the connection reusable."""
        raw = response.raw
        budget = self.body_limit
        while budget > 0:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise requests.Timeout("body not received in time")
            # read1 returns what has arrived (read() would wait for the whole chunk, so a
            # trickling body could outlive the deadline), and no single wait outlasts it.
            sock = getattr(raw.connection, "sock", None)
            if sock is not None:
                sock.settimeout(remaining)
            chunk = raw.read1(min(_CHUNK, budget), decode_content=False)
            if not chunk:
                return
            budget -= len(chunk)
        # Over the limit: the rest is not downloaded; closing drops the connection.

    def close(self) -> None:
        self.session.close()


def classify(error: BaseException) -> ErrorKind:
    """The `ErrorKind` of a failed request, from the exception and its causes."""
    if isinstance(error, requests.TooManyRedirects):
        return ErrorKind.REDIRECTS
    chain = _causes(error)

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


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
        for arg in getattr(seen[-1], "args", ()):
            if isinstance(arg, BaseException) and arg not in seen:
                seen.append(arg)
        reason = getattr(seen[-1], "reason", None)
        if isinstance(reason, BaseException) and reason not in seen:
            seen.append(reason)
    return seen


def _is_network_error(error: BaseException) -> bool:
    return isinstance(error, requests.RequestException | urllib3.exceptions.HTTPError | OSError)

"""The proxies of an environment, as curl and requests read them: `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and
`NO_PROXY` (either case), checked once at start so that a proxy no request can go through is a clear error, not
every probe or notification failing as `connection` (or with a traceback that shows its password)."""

from __future__ import annotations

import ipaddress
import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

import urllib3.exceptions
from urllib3.util import parse_url

from monitoringapp.domain.config import ConfigError
from monitoringapp.domain.secrets import Secrets, url_secrets
from monitoringapp.domain.sites import shown_in_error

__all__ = ["PROXY_SCHEMES", "Proxies"]


PROXY_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")
"""The proxies a probe can go through, as curl's (a proxy without a scheme, `host:port`, is an HTTP one)."""


_USED_PROXIES = ("http", "https", "all")
"""The proxies a probe (an http or https URL) can go through: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, as for requests."""


class Proxies:
    """The proxies of an environment (`getproxies_environment`'s reading of `*_PROXY`): which, if any, a URL
    goes through. A proxy a probe may go through (`_USED_PROXIES`) of a scheme it cannot go through, or whose host or
    port cannot be read, is a `ConfigError` (every probe through it would fail as `connection`, saying nothing of
    why, or with a traceback), its password shown as `***`."""

    def __init__(self, environment: Mapping[str, str]) -> None:
        self.by_scheme = {scheme: url for scheme, url in environment.items() if scheme != "no" and url}
        # What a request through them sends of their passwords (as written, decoded, and as the `Basic` credentials
        # of `Proxy-Authorization`), which a proxy's answer may echo: hidden as a site's own are.
        self.secrets = Secrets.of(secret for url in self.by_scheme.values()
                                  for secret in url_secrets(url if "://" in url else f"http://{url}"))
        self.bypass = [entry.strip().lower() for entry in environment.get("no", "").split(",") if entry.strip()]
        for scheme, url in self.by_scheme.items():
            if scheme not in _USED_PROXIES:
                continue  # FTP_PROXY=ftp://... is curl's for ftp:// URLs: none of ours
            proxy_scheme = url.partition("://")[0].lower() if "://" in url else "http"
            if proxy_scheme not in PROXY_SCHEMES:
                raise ConfigError(f"{scheme.upper()}_PROXY={shown_in_error(url)}: a proxy's scheme is "
                                  f"{', '.join(PROXY_SCHEMES[:-1])} or {PROXY_SCHEMES[-1]}, not {proxy_scheme}")
            problem = _unusable_address(url)
            if problem:
                raise ConfigError(f"{scheme.upper()}_PROXY={shown_in_error(url)}: {problem} (scheme://host:port, "
                                  "as socks5h://user:password@proxy.example:1080)")

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


def _unusable_address(url: str) -> str | None:
    """What keeps a request from reaching the proxy `url` at all, as requests reads it (`http://` put before one
    without a scheme), or None. One it cannot read fails every request: with a traceback (no host after the login,
    `socks5h://user:password@`) or as a `connection` failure that says nothing of why, as port 0 does."""
    try:
        address = parse_url(url if "://" in url else f"http://{url}")
    except urllib3.exceptions.LocationParseError:  # a port that is no number from 0 to 65535, a broken [IPv6]
        address = None
    if address is None or not address.host:
        return "a proxy's host or port cannot be read from it"
    if address.port == 0:
        return "a proxy's port is 1 to 65535, not 0"
    return None

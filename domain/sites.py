"""A site's stable key and how its URL may be shown.

`site_id` names a site in web addresses and metrics labels: its configured `name` when it has one (a later
config key; pass it here), else a short hash of its canonical URL, so the key survives a restart, a
reordered config and a password change. `shown_url` is the URL with any password replaced by `***`.

Example:
    >>> site_id("HTTP://Example.com:80")
    '2a1b402420'
    >>> site_id("http://example.com/") == site_id("http://user:secret@example.com/")
    True
    >>> site_id("http://example.com/", name="shop")
    'shop'
    >>> shown_url("https://alice:hunter2@example.com/health")
    'https://alice:***@example.com/health'
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Scheme and host in lower case, no default port, no credentials, no fragment, `/` for an empty path."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal keeps its brackets
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def site_id(url: str, name: str | None = None) -> str:
    """The site's key: `name` when the config gives one, else 10 hex digits of its canonical URL's SHA-256."""
    if name:
        return name
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()[:10]


def shown_url(url: str) -> str:
    """`url` as it may be shown anywhere: a password in it becomes `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, rest = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return urlunsplit((parts.scheme, f"{name}:***@{rest}", parts.path, parts.query, parts.fragment))

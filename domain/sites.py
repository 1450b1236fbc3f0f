"""A site's identity: its canonical URL, its stable key, and its URL as it may be shown.

`shown_url` is the URL with a password in it replaced by `***` (a `${NAME}` written as the password is a
name, not a secret, and stays): what the console prints, the database stores, `--check` shows and `--site`
matches. `shown_without_tokens` shows a URL whose tokens may sit anywhere (apprise's). `canonical_url` is the
form two spellings of one site share. `site_id` names a site in web addresses and metrics labels: its configured
`name` when that is a plain word, else a short hash (of the name, or of its canonical URL without credentials),
so the key survives a restart, a reordered config and a password change.

Example:
    >>> site_id("HTTP://Example.com:80")
    '2a1b402420'
    >>> site_id("http://example.com/") == site_id("http://user:secret@example.com/")
    True
    >>> site_id("http://example.com/", name="shop")
    'shop'
    >>> shown_url("https://alice:hunter2@example.com/health")
    'https://alice:***@example.com/health'
    >>> shown_without_tokens("tgram://123456789:AAHsecret/987654?silent=${SILENT}")
    'tgram://1...9:A...t/9...4?silent=${SILENT}'
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
# scheme://user:password@ at the start of any text that begins like a URL (an invalid one is safe to show too). The
# password runs to the authority's last "@", as urlsplit (and so the probe) reads it: `s3cr@t` is one password.
_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*):([^/?#]*)@")
# scheme://token@: a NATS server's user information without a password is a token (nats-py, nats.go), a secret whole.
_TOKEN = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@:]+@")
_VARIABLE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# In a URL past its scheme: a `${NAME}` (group 1), a query's key (group 2), or any other run between delimiters.
_URL_PART = re.compile(r"(\$\{[A-Za-z_][A-Za-z0-9_]*\})|((?<=[?&])[^/:@?&=#]+(?==))|(?:(?!\$\{)[^/:@?&=#])+")


def shown_url(url: str) -> str:
    """`url` as it may be shown anywhere: the password of its user information, if any, as `***`."""

    def masked(match: re.Match[str]) -> str:
        password = match.group(2)
        return match.group(0) if not password or _VARIABLE.fullmatch(password) else f"{match.group(1)}:***@"

    return _PASSWORD.sub(masked, url)


def url_problem(error: ValueError) -> str:
    """Why `urlsplit` refused a URL (or its `port`), in words that quote none of it: Python's messages quote the port
    or the whole network location, where a password may sit (`http://ops:pa/ss@host` has the "port" `pa`)."""
    text = str(error)
    if text.startswith("Port could not be cast"):
        return "its port is not a number"
    if text.startswith("Port out of range"):
        return "its port is not 0 to 65535"
    if "does not appear to be an IPv4 or IPv6 address" in text:
        return "its host has a [ ] that holds no IP address"
    if text == "Invalid IPv6 URL":
        return "its host has a [ without its ], or a ] without its ["
    if "NFKC" in text:
        return "its host has characters that Unicode's NFKC form changes (such as a full-width slash)"
    return text if "'" not in text else "it cannot be read as a URL"


def shown_in_error(url: str) -> str:
    """A URL the config refuses, as its error shows it: its password as `***`; where no `scheme://` comes before
    the password (`ops:s3cret@host`, `http:/ops:s3cret@host`), all before the last `@` as `***`."""
    shown = shown_url(url)
    if shown != url or "@" not in url:
        return shown
    head, _, host = url.rpartition("@")
    scheme, separator, user_information = head.rpartition("://")
    if ":" not in user_information:
        return url  # no password: an "@" in a path
    return f"{scheme}{separator}***@{host}"


def authority_end(url: str, start: int) -> int:
    """Where the authority of `url` (user information, host and port) that begins at `start` ends: at its path,
    query or fragment, else at the end."""
    return min((index for index in (url.find(c, start) for c in "/?#") if index >= 0), default=len(url))


def shown_without_tokens(url: str) -> str:
    """A URL whose tokens may sit in any part (an apprise URL: `tgram://BOT_TOKEN/CHAT`, `pover://USER@TOKEN`), as it
    may be shown where apprise cannot show it: its scheme, `${NAME}`s and query keys as written, a password as `***`,
    every other part as its first and last characters, as apprise's privacy mode shows a token
    (`tgram://1...9:A...N/9...4`). Text with no scheme is hidden alike, since which of its parts is a token cannot
    be known."""
    scheme = _SCHEME.match(url)
    start = scheme.end() if scheme else 0
    at = url.rfind("@", start, authority_end(url, start))
    user, colon, password = url[start:max(at, start)].partition(":")
    if colon and password and not _VARIABLE.fullmatch(password):
        url = f"{url[:start]}{user}:***{url[at:]}"

    def hidden(match: re.Match[str]) -> str:
        part = match.group(0)
        return part if match.group(1) or match.group(2) or part == "***" else f"{part[0]}...{part[-1]}"

    return url[:start] + _URL_PART.sub(hidden, url[start:])


def hidden_parts(url: str) -> tuple[str, ...]:
    """The parts of `url` that `shown_without_tokens` hides, as written: all but its scheme, `${NAME}`s and query
    keys."""
    scheme = _SCHEME.match(url)
    rest = url[scheme.end():] if scheme else url
    return tuple(match.group(0) for match in _URL_PART.finditer(rest) if not (match.group(1) or match.group(2)))


def shown_server(url: str) -> str:
    """A NATS server's URL as it may be shown: its password as `***`, and its token (`nats://TOKEN@host:4222`, user
    information with no password) as `***` too."""
    return _TOKEN.sub(r"\1***@", shown_url(url))


def shown_servers(servers: Iterable[str]) -> str:
    """Server URLs (NATS's) as they may be shown: comma-separated, each password or token as `***`."""
    return ", ".join(shown_server(server) for server in servers)


def shown_log(database: str, nats: Iterable[str]) -> str:
    """Where a reader reads, as it may be shown: the NATS servers when given (passwords as `***`), else the
    database file."""
    servers = list(nats)
    return shown_servers(servers) if servers else database


def canonical_url(url: str, *, credentials: bool = True) -> str:
    """The form two spellings of one site share: scheme and host lower case, no default port, `/` for an
    empty path, no fragment (never sent), the password shown as `***` (`credentials=False`: no user
    information at all). Text that is no URL comes back as it is."""
    try:
        parts = urlsplit(shown_url(url.strip()))
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    if credentials and parts.username is not None:
        netloc = f"{parts.username}{':***' if parts.password is not None else ''}@{netloc}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def comparable_url(url: str) -> str:
    """`canonical_url` with an international host name in the ASCII form the probe sends (IDNA, as urllib3 encodes
    it): `http://bücher.example/` and `http://xn--bcher-kva.example/` are one site however the config spells it. For
    comparing only: the stored and shown URL keeps the spelling written."""
    canonical = canonical_url(url)
    try:
        parts = urlsplit(canonical)
    except ValueError:
        return canonical
    host = parts.hostname or ""
    if host.isascii():
        return canonical
    import idna  # requests' own dependency, imported with it anyway; here only for a config with such a host

    try:
        ascii_host = idna.encode(host, strict=True, std3_rules=True).decode("ascii")
    except idna.IDNAError:
        return canonical  # one the probe cannot send either: its probe says so
    user_information, at, host_and_port = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=user_information + at + host_and_port.replace(host, ascii_host, 1)))


def key_named(given: str, urls: Mapping[str, str]) -> str | None:
    """The key of the site `given` names among `urls` (each site's key -> its URL): its key as written, or any
    spelling of its URL or key (compared in canonical form, as the config compares sites); None if none."""
    if given in urls:
        return given
    wanted = comparable_url(given)
    return next((key for key, url in urls.items() if wanted in (comparable_url(key), comparable_url(url))), None)


def site_id(url: str, name: str | None = None) -> str:
    """The site's key in web addresses: `name` when the config gives a plain one (letters, digits, `.`, `_`,
    `-`), else 10 hex digits of the SHA-256 of the name or of the canonical URL without credentials."""
    if name:
        return name if _PLAIN_NAME.match(name) else hashlib.sha256(f"name:{name}".encode()).hexdigest()[:10]
    return hashlib.sha256(canonical_url(url, credentials=False).encode()).hexdigest()[:10]

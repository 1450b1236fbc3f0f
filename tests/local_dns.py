"""A stand-in for `socket.getaddrinfo` whose lookups of some names do not answer until the test lets them.

The one stand-in of these tests: they may not reach outside 127.0.0.1 nor change the machine's resolver, so a DNS
server that does not answer is played by a lookup that really blocks its thread (on an Event the test sets at its
end, as glibc's resolver would give up after its own timeouts); every other name is looked up for real."""

from __future__ import annotations

import socket
import threading
from typing import Any

UNANSWERED = "silent-dns.invalid"
HOLD_AT_MOST = 30.0
"""However the test ends, a blocked lookup gives up after this many seconds (no thread left behind for ever)."""


class SilentLookup:
    """getaddrinfo, except that a lookup of a name of `silent` blocks until `release` is set, then fails as glibc's
    resolver does when its DNS server did not answer (EAI_AGAIN). Remembers the names looked up, and on which
    thread."""

    def __init__(self, *silent: str) -> None:
        self.silent = frozenset(silent or (UNANSWERED,))
        self.entered = threading.Event()
        self.release = threading.Event()
        self.looked_up: list[tuple[str, threading.Thread]] = []
        self.ended = 0

    def __call__(self, host: str, port: int, family: int = 0, kind: int = 0, *more: Any) -> list[Any]:
        self.looked_up.append((host, threading.current_thread()))
        if host not in self.silent:
            return socket.getaddrinfo(host, port, family, kind, *more)
        self.entered.set()
        try:
            self.release.wait(HOLD_AT_MOST)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        finally:
            self.ended += 1

    def hosts(self) -> list[str]:
        return [host for host, _ in self.looked_up]


class UnknownNames:
    """getaddrinfo, except that the names of `unknown` do not exist (EAI_NONAME, what glibc says of a name no DNS
    server knows): a test's name that must not resolve is answered here, not by a DNS server outside 127.0.0.1."""

    def __init__(self, *unknown: str) -> None:
        self.unknown = frozenset(unknown)

    def __call__(self, host: str, port: int, family: int = 0, kind: int = 0, *more: Any) -> list[Any]:
        if host in self.unknown:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return socket.getaddrinfo(host, port, family, kind, *more)


class LocalNames:
    """getaddrinfo, except that the names of `local` are 127.0.0.1 (IPv4 only): a test's name that the prober itself
    must resolve, answered here, not by a DNS server outside 127.0.0.1."""

    def __init__(self, *local: str) -> None:
        self.local = frozenset(local)
        self.looked_up: list[str] = []

    def __call__(self, host: str, port: int, family: int = 0, kind: int = 0, *more: Any) -> list[Any]:
        self.looked_up.append(host)
        return socket.getaddrinfo("127.0.0.1" if host in self.local else host, port, socket.AF_INET, kind, *more)


class DualStackNames:
    """getaddrinfo, except that the names of `local` have two addresses, ::1 first and then 127.0.0.1 (as glibc
    orders `localhost`'s), or the one of the family asked for."""

    def __init__(self, *local: str) -> None:
        self.local = frozenset(local)

    def __call__(self, host: str, port: int, family: int = 0, kind: int = 0, *more: Any) -> list[Any]:
        if host not in self.local:
            return socket.getaddrinfo(host, port, family, kind, *more)
        addresses = [("::1", socket.AF_INET6), ("127.0.0.1", socket.AF_INET)]
        return [found for address, address_family in addresses if family in (0, address_family)
                for found in socket.getaddrinfo(address, port, address_family, kind, *more)]


class IPv6Names:
    """getaddrinfo, except that the names of `local` have one address, ::1 (IPv6 only: none for an IPv4 lookup, as
    glibc answers for a name with an AAAA record only)."""

    def __init__(self, *local: str) -> None:
        self.local = frozenset(local)

    def __call__(self, host: str, port: int, family: int = 0, kind: int = 0, *more: Any) -> list[Any]:
        if host not in self.local:
            return socket.getaddrinfo(host, port, family, kind, *more)
        if family == socket.AF_INET:
            raise socket.gaierror(socket.EAI_NODATA, "No address associated with hostname")
        return socket.getaddrinfo("::1", port, socket.AF_INET6, kind, *more)

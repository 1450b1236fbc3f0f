"""Host name lookups bounded by an exchange's deadline.

`socket.getaddrinfo` cannot be interrupted: glibc waits on a DNS server that does not answer for its own timeouts
(5 s x 2 attempts per nameserver by default), whatever the exchange's timeout says. So a `Resolver` runs the lookup
on one of a few threads of its own and waits for the answer until the deadline only; a lookup given up on finishes
on its own in its thread, and its answer is dropped.

Its threads are bounded (`threads`), and a lookup of a name already being looked up (the same host, port, family
and type) waits for that one instead of starting another: a name whose DNS server does not answer holds one thread
however often it is probed, not one per probe. When all threads are busy, a lookup waits in line, still only until
its deadline (it then fails saying that no thread was free); one given up on before a thread took it is dropped
from the line.

IP literals and the names of the hosts file (`localhost`, the machine's own names) are answered by the `files`
source at once: they are looked up on the caller's thread, with no hand-off.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from monitoringapp.transport.errors import carried_errors

__all__ = ["HOSTS_FILE", "AddressInfo", "LookupTimedOut", "Resolver", "hosts_file_names", "unanswered_lookup"]

AddressInfo = tuple[Any, ...]  # getaddrinfo's (family, type, proto, canonname, sockaddr)
Lookup = Callable[[str, int, int, int], list[AddressInfo]]
"""`socket.getaddrinfo(host, port, family, type)`, or a stand-in for it."""

HOSTS_FILE = "/etc/hosts"
THREADS = 16
"""Lookup threads of a resolver by default: as many names whose DNS server does not answer before a lookup of
another name waits in line."""
IDLE_FOR = 60.0
"""How long a lookup thread with nothing to do waits for work before it ends (seconds)."""


class LookupTimedOut(socket.gaierror):
    """The lookup did not answer within the exchange's deadline. A `gaierror` (EAI_AGAIN, what glibc says when its
    own resolver times out), so that it is told as the same DNS failure however short the timeout."""


def unanswered_lookup(error: BaseException, carried: Sequence[BaseException] | None = None) -> LookupTimedOut | None:
    """The `LookupTimedOut` behind `error` (urllib3 and requests wrap it two or three levels down), if any; `carried`:
    `carried_errors(error)`, if already found."""
    chain = carried if carried is not None else carried_errors(error)
    return next((cause for cause in chain if isinstance(cause, LookupTimedOut)), None)


def hosts_file_names(path: str = HOSTS_FILE) -> frozenset[str]:
    """The host names the hosts file lists (lower case), and `localhost`; none more if it cannot be read."""
    names = {"localhost"}
    with contextlib.suppress(OSError, UnicodeDecodeError), open(path, encoding="utf-8") as hosts:
        for line in hosts:
            names.update(name.lower() for name in line.partition("#")[0].split()[1:])
    return frozenset(names)


class _Pending:
    """One lookup in line or under way, and the callers waiting for it."""

    __slots__ = ("answer", "done", "error", "key", "started", "waiters")

    def __init__(self, key: tuple[str, int, int, int]) -> None:
        self.key = key
        self.waiters = 0
        self.started = False
        self.done = False
        self.answer: list[AddressInfo] = []
        self.error: BaseException | None = None


class Resolver:
    """Looks host names up with `lookup` (default `socket.getaddrinfo`) on at most `threads` threads of its own,
    each caller waiting only as long as its `remaining` says; names of `at_once` (default: the hosts file's) and IP
    literals on the caller's thread."""

    def __init__(self, lookup: Lookup = socket.getaddrinfo, threads: int = THREADS,
                 at_once: Iterable[str] | None = None, name: str = "dns-lookup", idle_for: float = IDLE_FOR) -> None:
        self.lookup = lookup
        self.threads = threads
        self.name = name
        self.idle_for = idle_for
        self._at_once_names = frozenset(at_once) if at_once is not None else hosts_file_names()
        self._at_once: dict[str, bool] = {}  # host -> whether it is looked up on the caller's thread
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # lookup threads wait for work on it
        self._answered = threading.Condition(self._lock)  # callers wait for their lookup's answer on it
        self._line: collections.deque[_Pending] = collections.deque()
        self._pending: dict[tuple[str, int, int, int], _Pending] = {}
        self._running = 0  # lookup threads alive
        self._idle = 0  # of which waiting for work
        self._closing = False

    def resolve(self, host: str, port: int, family: int, kind: int,
                remaining: Callable[[], float]) -> list[AddressInfo]:
        """getaddrinfo's answer for (`host`, `port`, `family`, `kind`), waiting at most `remaining()` seconds (asked
        again whenever the wait is woken); `LookupTimedOut` past it, `socket.gaierror` as the lookup fails."""
        if self._looked_up_at_once(host):
            return self.lookup(host, port, family, kind)
        key = (host, port, family, kind)
        with self._lock:
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = _Pending(key)
                self._line.append(pending)
                if self._idle >= len(self._line):
                    self._work.notify()
                elif self._running < self.threads:
                    self._running += 1
                    threading.Thread(target=self._serve, name=self.name, daemon=True).start()
            pending.waiters += 1
            try:
                while not pending.done:
                    left = remaining()
                    if left <= 0:
                        raise self._given_up(pending, host)
                    self._answered.wait(left)
            finally:
                pending.waiters -= 1
            if pending.error is not None:
                raise pending.error
            return pending.answer

    @property
    def pending(self) -> int:
        """Lookups under way or in line (a figure for tests)."""
        return len(self._pending)

    @property
    def running(self) -> int:
        """Lookup threads alive (a figure for tests)."""
        return self._running

    def wake(self) -> None:
        """Every caller waiting asks its `remaining` again (an exchange cut before its deadline gives up at once)."""
        with self._lock:
            self._answered.notify_all()

    def close(self) -> None:
        """Lookup threads end once idle (one under way, when its lookup ends); a later `resolve` starts them again."""
        with self._lock:
            self._closing = True
            self._work.notify_all()

    def _given_up(self, pending: _Pending, host: str) -> LookupTimedOut:
        if pending.started:
            return LookupTimedOut(socket.EAI_AGAIN, f"the lookup of {host} did not answer within the timeout")
        if pending.waiters == 1:  # nobody else waits for it: out of the line, no thread will take it
            self._line.remove(pending)
            del self._pending[pending.key]
        return LookupTimedOut(socket.EAI_AGAIN, f"the lookup of {host} did not start within the timeout: all "
                                                f"{self.threads} lookup threads were busy")

    def _looked_up_at_once(self, host: str) -> bool:
        at_once = self._at_once.get(host)
        if at_once is None:
            name = host.rstrip(".").lower()
            try:
                ipaddress.ip_address(name.partition("%")[0])  # an IPv6 literal may carry its zone
                at_once = True
            except ValueError:
                at_once = name in self._at_once_names
            if len(self._at_once) > 10_000:  # ever new names (redirects) must not grow it for ever
                self._at_once.clear()
            self._at_once[host] = at_once
        return at_once

    def _serve(self) -> None:
        with self._lock:
            while True:
                while not self._line:
                    if self._closing:
                        self._running -= 1
                        return
                    self._idle += 1
                    woken = self._work.wait(self.idle_for)
                    self._idle -= 1
                    if not woken and not self._line:
                        self._running -= 1
                        return
                pending = self._line.popleft()
                pending.started = True
                self._lock.release()
                try:
                    pending.answer = self.lookup(*pending.key)
                except BaseException as error:  # handed to the callers, whatever it is
                    pending.error = error
                finally:
                    self._lock.acquire()
                pending.done = True
                del self._pending[pending.key]
                self._answered.notify_all()

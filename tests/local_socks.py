"""A real SOCKS5 proxy on 127.0.0.1 for the tests (RFC 1928, with RFC 1929's username and password when given):
CONNECT only, to an IPv4 address or a host name (resolved by the proxy, `socks5h://`, from its own table `names`, so
that nothing outside 127.0.0.1 is ever asked), then the bytes relayed both ways until either side closes, or 40 s.

An IPv6 address is answered `address type not supported` (0x08), as a proxy without IPv6 answers it (and noted in
`connects`). A name it has no address for is answered `host unreachable` (0x04), a target that refuses the
connection `connection refused` (0x05), and every target while `refusing` says so `not allowed by ruleset` (0x02);
while `trickling`, the reply to a CONNECT comes a byte every 50 ms (13 s), and `replies_trickled` lists how many
bytes each sent.
`connects` lists what each CONNECT asked for, as sent (`(b"name", port)` resolved by the proxy, `("1.2.3.4", port)`
by the client); `logins` the (user, password) each client offered.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
import time
from collections.abc import Iterator

from tests.local_http import AcceptLoop

RELAY_FOR = 40.0
"""At most how long one connection is relayed (seconds): longer than local_http's longest trickle (30 s), so that a
probe held for all of it is seen to be, and the proxy does not cut it."""

_SUCCEEDED, _NOT_ALLOWED, _HOST_UNREACHABLE, _REFUSED = 0x00, 0x02, 0x04, 0x05


class LocalSocksProxy(AcceptLoop):
    """A SOCKS5 proxy on 127.0.0.1 (`url`); with `login` ((user, password)) it asks each client for them."""

    def __init__(self, login: tuple[str, str] | None = None, names: dict[str, str] | None = None) -> None:
        super().__init__("local-socks")
        self.login = login
        self.names = names if names is not None else {}
        self.refusing = False
        self.trickling = False  # the CONNECT's reply (naming a 255-byte host) sent a byte every 50 ms: 13 s
        self.replies_trickled: list[int] = []  # the bytes each trickled reply sent before the client went
        self.connects: list[tuple[str | bytes, int]] = []
        self.logins: list[tuple[str, str]] = []
        self._start()

    def url(self, scheme: str = "socks5h", user: str | None = None, password: str | None = None) -> str:
        credentials = f"{user}:{password}@" if user is not None else ""
        return f"{scheme}://{credentials}127.0.0.1:{self.port}"

    def _take(self, client: socket.socket) -> None:
        threading.Thread(target=self._handle, args=(client,), name="local-socks-client", daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError, ValueError):
            client.settimeout(5.0)
            target = self._negotiate(client)
            if target is not None:
                with target:
                    self._relay(client, target)

    def _negotiate(self, client: socket.socket) -> socket.socket | None:
        """The greeting, the login if asked, the CONNECT: the connected target, or None once refused."""
        version, count = _read(client, 2)
        if version != 5:
            return None
        methods = _read(client, count)
        wanted = 0x02 if self.login is not None else 0x00
        if wanted not in methods:
            client.sendall(b"\x05\xff")
            return None
        client.sendall(bytes((5, wanted)))
        if self.login is not None:
            _, user_length = _read(client, 2)
            user = _read(client, user_length).decode()
            password = _read(client, _read(client, 1)[0]).decode()
            self.logins.append((user, password))
            if (user, password) != self.login:
                client.sendall(b"\x01\x01")
                return None
            client.sendall(b"\x01\x00")
        _, command, _, address_type = _read(client, 4)
        host: str | bytes
        if address_type == 0x01:
            host = socket.inet_ntoa(_read(client, 4))
        elif address_type == 0x03:
            host = _read(client, _read(client, 1)[0])
        elif address_type == 0x04:  # noted, and answered as a proxy without IPv6 answers it
            host = socket.inet_ntop(socket.AF_INET6, _read(client, 16))
            self.connects.append((host, struct.unpack(">H", _read(client, 2))[0]))
            return self._reply(client, 0x08)  # address type not supported
        else:
            return self._reply(client, 0x08)
        (port,) = struct.unpack(">H", _read(client, 2))
        self.connects.append((host, port))
        if command != 0x01:
            return self._reply(client, 0x07)  # command not supported
        if self.refusing:
            return self._reply(client, _NOT_ALLOWED)
        address = host if isinstance(host, str) else self.names.get(host.decode())
        if address is None:
            return self._reply(client, _HOST_UNREACHABLE)
        try:
            target = socket.create_connection((address, port), timeout=5.0)
        except OSError:
            return self._reply(client, _REFUSED)
        if self.trickling:
            with target:
                self.replies_trickled.append(self._trickle(client, bytes((5, _SUCCEEDED, 0, 3, 255)) + b"x" * 257))
            return None
        self._reply(client, _SUCCEEDED)
        return target

    def _trickle(self, client: socket.socket, data: bytes) -> int:
        """Send `data` a byte every 50 ms until it is all sent, the proxy stops, or the client hangs up; how many
        bytes went out."""
        sent = 0
        with contextlib.suppress(OSError):
            for byte in data:
                if self._stop.wait(0.05):
                    break
                client.sendall(bytes((byte,)))
                sent += 1
        return sent

    @staticmethod
    def _reply(client: socket.socket, status: int) -> None:
        client.sendall(bytes((5, status, 0, 1)) + socket.inet_aton("127.0.0.1") + b"\x00\x00")

    def _relay(self, client: socket.socket, target: socket.socket) -> None:
        ends = time.monotonic() + RELAY_FOR
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ, target)
            selector.register(target, selectors.EVENT_READ, client)
            while not self._stop.is_set() and time.monotonic() < ends:
                for key, _ in selector.select(0.05):
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                    if not data:
                        return  # one side closed: so does the proxy, both ways
                    key.data.sendall(data)

def _read(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ValueError("the client closed mid-negotiation")
        data += chunk
    return data


@contextlib.contextmanager
def local_socks_proxy(login: tuple[str, str] | None = None,
                      names: dict[str, str] | None = None) -> Iterator[LocalSocksProxy]:
    proxy = LocalSocksProxy(login, names)
    try:
        yield proxy
    finally:
        proxy.stop()

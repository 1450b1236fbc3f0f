"""The one real HTTP server on 127.0.0.1 for every test: fixed routes, a health flag to flip, bounded in time.

Routes (a query string is ignored, so `/ok?a` and `/ok?b` are two sites on one server): `/ok` 200, `/close` 200 with
`Connection: close`, `/fail` 500, `/health` 200 or 503 as `healthy` says, `/located` 503 to a prober whose User-Agent
names a location in `failing_locations` (else 200), `/slow` 503 after `slow_for` seconds, `/hang` answers nothing until
released (at most `hang_for` seconds), `/redirect/N` N hops then 200, `/loop` redirects to itself, `/huge` claims 1 GB
and streams until the client goes (or 5 s), `/trickle` sends one byte of 200 every 50 ms; each lists how many bytes it
sent, as it ended (`huge_sent`, `body_trickled`: fewer than all, the client hung up); `/trickle-headers` sends its
status line and headers one byte every 50 ms (600 bytes, 30 s) as long as `header_trickles` says, then answers 200 at
once, and lists how many bytes each trickle sent before it ended (`headers_trickled`); `/to-trickle-headers` a 302 to
`/trickle-headers`; `/redirect-trickled` a 302 to `/ok` whose 100-byte body comes a byte every 50 ms;
`/json` 200 with `json_body` as JSON, `/gzipped` the same gzip-compressed whatever the client asks, `/bytes` 200 with
`raw_body` byte for byte (and `raw_headers`), `/status/N` N, `/late` 200 after `late_for` seconds, `/large` 200 with 100
kB ending in `ok`, `/limit` 200 with exactly 64 kB ending in `ok`, `/bad-location` a 302 to a URL that is none
(`http://[::1/`), `/echo` 200 with the request's method, headers and body as JSON (any method), `/see-other` a 303 to
`/echo`, `/temporary` a 307 and `/permanent` a 308 to its query's `to` (else `/echo`); any other path 404. A request for
an absolute URL (as a forward proxy is asked) is answered as its path would be, whatever its host: the server is its own
HTTP proxy. Requests' Authorization headers are kept (`authorizations`). With `tls` (an `ssl.SSLContext`), it serves
HTTPS.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.http_server import LocalHTTPServer
from bench.ports import held_port, port_of

HUGE_CLAIMED = 1 << 30
TRICKLED_BODY = 200  # bytes /trickle sends, one every 50 ms, when nobody cuts it
_HUGE_CHUNK = b"x" * 65536


class LocalServer:
    """`url(path)` of a running server; `healthy` flips `/health`; counters say what was served."""

    def __init__(self, hang_for: float = 10.0, tls: ssl.SSLContext | None = None) -> None:
        self.healthy = True
        self.json_body: Any = {"status": "ok", "queue": {"depth": 3}}
        self.raw_body = b"ok"  # what /bytes answers, byte for byte
        self.raw_headers: dict[str, str] = {}  # and with these headers
        self.late_for = 0.3
        self.tls = tls
        self.failing_locations: set[str] = set()
        self.served: Counter[tuple[str, str]] = Counter()  # (path with query, prober location) -> requests
        self.hang_for = hang_for
        self.slow_for = 1.2
        self.release = threading.Event()
        self.huge_sent: list[int] = []  # the bytes each /huge response sent, as it ended
        self.body_trickled: list[int] = []  # the bytes of its body each /trickle sent, as it ended
        self.requests = 0
        self.client_ports: set[int] = set()  # one per connection the server accepted
        self.authorizations: set[str] = set()  # the Authorization headers requests came with
        self.header_trickles = 0  # how many of the next requests to /trickle-headers trickle
        self.headers_trickled: list[int] = []  # the bytes each trickle of headers sent, as it ended
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else a reused connection waits 40 ms for a delayed ACK

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.do_GET()

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                with server._lock:
                    server.requests += 1
                    server.client_ports.add(self.client_address[1])
                    if "Authorization" in self.headers:
                        server.authorizations.add(self.headers["Authorization"])
                path = urlsplit(self.path).path  # a query string tells sites apart; a proxy is asked for a URL
                if path == "/ok":
                    self.answer(200, b"ok")
                elif path == "/close":  # 200, and the connection closed after it (as an HTTP/1.0 server does)
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    self.close_connection = True
                elif path == "/fail":
                    self.answer(500, b"fail")
                elif path == "/health":
                    self.answer(200 if server.healthy else 503, b"health")
                elif path == "/located":
                    agent = self.headers.get("User-Agent", "")
                    location = agent.partition("(location=")[2].rstrip(")")
                    with server._lock:
                        server.served[self.path, location] += 1
                    self.answer(503 if location in server.failing_locations else 200, b"located")
                elif path == "/slow":
                    server.release.wait(server.slow_for)
                    self.answer(503, b"slow and failing")
                elif path == "/hang":
                    server.release.wait(server.hang_for)
                    self.answer(200, b"late")
                elif path.startswith("/redirect/"):
                    hops = int(path.rsplit("/", 1)[1])
                    if hops:
                        self.redirect(f"/redirect/{hops - 1}")
                    else:
                        self.answer(200, b"arrived")
                elif path == "/redirect-trickled":  # a redirect whose body comes a byte every 50 ms
                    self.send_response(302)
                    self.send_header("Location", "/ok")
                    self.send_header("Content-Length", "100")
                    self.end_headers()
                    self.trickled(b"x" * 100)
                    self.close_connection = True
                elif path == "/loop":
                    self.redirect("/loop")
                elif path == "/huge":
                    self.huge()
                elif path == "/trickle":
                    self.trickle()
                elif path == "/json":
                    self.answer(200, json.dumps(server.json_body).encode())
                elif path == "/bytes":
                    self.answer(200, server.raw_body, server.raw_headers)
                elif path == "/gzipped":  # compressed whatever the client asked for
                    compressed = gzip.compress(json.dumps(server.json_body).encode())
                    self.answer(200, compressed, {"Content-Encoding": "gzip"})
                elif path.startswith("/status/"):
                    self.answer(int(path.rsplit("/", 1)[1]), b"as asked")
                elif path == "/late":
                    server.release.wait(server.late_for)
                    self.answer(200, b"ok, late")
                elif path == "/large":
                    self.answer(200, b"x" * (100 * 1024 - 2) + b"ok")
                elif path == "/limit":
                    self.answer(200, b"x" * (64 * 1024 - 2) + b"ok")
                elif path == "/bad-location":
                    self.redirect("http://[::1/")
                elif path == "/echo":
                    length = int(self.headers.get("Content-Length") or 0)
                    body = self.rfile.read(length).decode() if length else None
                    self.answer(200, json.dumps({"method": self.command, "target": self.path,
                                                 "headers": dict(self.headers.items()),
                                                 "body": body}).encode())
                elif path == "/trickle-headers":
                    self.trickle_headers()
                elif path == "/to-trickle-headers":
                    self.redirect("/trickle-headers")
                elif path == "/see-other":
                    length = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(length)
                    self.redirect("/echo", 303)
                elif path in ("/temporary", "/permanent"):
                    self.rfile.read(int(self.headers.get("Content-Length") or 0))
                    to = parse_qs(urlsplit(self.path).query).get("to", ["/echo"])[0]
                    self.redirect(to, 307 if path == "/temporary" else 308)
                else:
                    self.answer(404, b"no such route")

            def answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                try:
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the client gave up (a timed-out probe)

            def trickle_headers(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    trickles = server.header_trickles > 0
                    server.header_trickles -= trickles
                if not trickles:
                    self.answer(200, b"")
                    return
                head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Padding: " + b"x" * 549 + b"\r\n\r\n"
                sent = self.trickled(head)
                with server._lock:
                    server.headers_trickled.append(sent)
                self.close_connection = True

            def trickled(self, data: bytes) -> int:
                """Send `data` a byte every 50 ms until it is all sent, the server stops, or the client hangs up;
                how many bytes went out."""
                sent = 0
                with contextlib.suppress(OSError):  # the client gave up
                    for byte in data:
                        if server.release.wait(0.05):
                            break
                        self.wfile.write(bytes((byte,)))
                        self.wfile.flush()
                        sent += 1
                return sent

            def redirect(self, location: str, status: int = 302) -> None:
                self.send_response(status)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def huge(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(HUGE_CLAIMED))
                self.end_headers()
                deadline = time.monotonic() + 5.0
                sent = 0
                try:
                    while sent < HUGE_CLAIMED and time.monotonic() < deadline and not server.release.is_set():
                        self.wfile.write(_HUGE_CHUNK)
                        sent += len(_HUGE_CHUNK)
                except OSError:
                    pass  # the client hung up, as it should
                with server._lock:
                    server.huge_sent.append(sent)
                self.close_connection = True

            def trickle(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                sent = self.trickled(b"x" * TRICKLED_BODY)
                with server._lock:
                    server.body_trickled.append(sent)
                self.close_connection = True

        self._server = LocalHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-http", daemon=True)

    def url(self, path: str = "/ok", host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls is not None else 'http'}://{host}:{self.port}{path}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


@contextlib.contextmanager
def local_server(hang_for: float = 10.0, tls: ssl.SSLContext | None = None) -> Iterator[LocalServer]:
    server = LocalServer(hang_for, tls).start()
    try:
        yield server
    finally:
        server.stop()


class LocalProxy:
    """A forward HTTP proxy on 127.0.0.1 that answers every GET itself (200, `via proxy`), for any host,
    and remembers the URLs it was asked for: a probe that reaches it went through the proxy."""

    def __init__(self) -> None:
        self.requested: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.requested.append(self.path)  # a proxy is asked for the absolute URL
                body = b"via proxy"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = LocalHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="local-proxy", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


@contextlib.contextmanager
def local_proxy() -> Iterator[LocalProxy]:
    proxy = LocalProxy()
    try:
        yield proxy
    finally:
        proxy.stop()


class AcceptLoop:
    """A listening port on 127.0.0.1 (`port`) whose thread gives each connection to `_take` until `stop` (it looks
    for the stop every 50 ms): a subclass sets what `_take` needs, then calls `_start`."""

    def __init__(self, name: str) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.05)
        self.port = int(self._socket.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)

    def _start(self) -> None:
        self._thread.start()

    def _take(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                continue
            self._take(connection)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self._socket.close()


class ClosingServer(AcceptLoop):
    """Reads each request to the end of its headers, writes `reply` (perhaps nothing), and closes the connection."""

    def __init__(self, reply: bytes) -> None:
        super().__init__("closing-server")
        self.reply = reply
        self._start()

    def _take(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(2.0)
            received = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in received and len(received) < 65536:
                    chunk = connection.recv(4096)
                    if not chunk:
                        break
                    received += chunk
                connection.sendall(self.reply)


class TcpListener(AcceptLoop):
    """A TCP port on 127.0.0.1 that accepts connections and closes them (a database, a mail server: up)."""

    def __init__(self) -> None:
        super().__init__("tcp-listener")
        self.accepted = 0
        self._start()

    def _take(self, connection: socket.socket) -> None:
        self.accepted += 1
        connection.close()


@contextlib.contextmanager
def tcp_listener() -> Iterator[TcpListener]:
    listener = TcpListener()
    try:
        yield listener
    finally:
        listener.stop()


class HandshakeResetter(AcceptLoop):
    """A TCP port on 127.0.0.1 that sends each connection `greeting`, reads until the client has sent `until`, and
    then closes it with a reset (RST): a balancer whose backend is gone, a server at its limit, met once the
    client's connect is surely done. A reset at accept can reach the client before its event loop has seen the
    connect complete, and is then reported as a failed connect call, not as a reset: a race a loaded host loses.
    Bounded: a client silent for 5 s is reset then."""

    def __init__(self, greeting: bytes, until: bytes) -> None:
        super().__init__("handshake-resetter")
        self.greeting = greeting
        self.until = until
        self._start()

    def _take(self, connection: socket.socket) -> None:
        connection.settimeout(5.0)
        heard = b""
        with contextlib.suppress(OSError):
            connection.sendall(self.greeting)
            while self.until not in heard:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                heard += chunk
        # linger on, for no time: the close is a reset, not an end of stream
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()


@contextlib.contextmanager
def handshake_resetter(greeting: bytes, until: bytes) -> Iterator[HandshakeResetter]:
    resetter = HandshakeResetter(greeting, until)
    try:
        yield resetter
    finally:
        resetter.stop()


def refused_port() -> int:
    """A port on 127.0.0.1 with nothing listening, held so until this process ends (`bench.ports`): closed, a
    server any test or process started meanwhile could be given it, and answer where a refusal was expected. A
    server started for it binds it all the same (local_smtp's, Prometheus)."""
    held = held_port()
    _HELD.append(held)
    return port_of(held)


_HELD: list[socket.socket] = []  # the ports refused_port gave, a few dozen a run of the suite


class HeldRelay(AcceptLoop):
    """A TCP port on 127.0.0.1 that accepts connections at once (`accepted` set) and relays them to `target` only
    once `release` is called: a server whose handshake is under way for as long as a test wants (a remote node's
    round trips, a loaded host's). Bounded: a connection waits at most `hold_for` seconds, then is closed."""

    def __init__(self, target: int, hold_for: float = 30.0) -> None:
        super().__init__("held-relay")
        self.target = target
        self.hold_for = hold_for
        self.accepted = threading.Event()
        self._released = threading.Event()
        self._sockets: list[socket.socket] = []
        self._start()

    def release(self) -> None:
        self._released.set()

    def _take(self, client: socket.socket) -> None:
        self._sockets.append(client)
        self.accepted.set()
        threading.Thread(target=self._relay, args=(client,), name="held-relay-connection", daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        client.settimeout(None)
        if not self._released.wait(self.hold_for) or self._stop.is_set():
            client.close()
            return
        try:
            server = socket.create_connection(("127.0.0.1", self.target), timeout=5.0)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        self._sockets.append(server)
        threading.Thread(target=_pump, args=(server, client), name="held-relay-back", daemon=True).start()
        _pump(client, server)

    def stop(self) -> None:
        self._stop.set()
        self._released.set()
        super().stop()
        for sock in self._sockets:  # ends every pump: its recv fails
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    """Bytes from `source` to `sink` until either end closes."""
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def held_relay(target: int) -> Iterator[HeldRelay]:
    relay = HeldRelay(target)
    try:
        yield relay
    finally:
        relay.stop()

"""Server-Sent Events: each open `/events` stream gets every message published, as it is published.

A stream holds one of the server's worker threads, so streams are bounded (`max_streams`; more get a 503,
which closes a browser's EventSource for good: the page's script opens another some seconds later) and each
ends after `lifetime` seconds (the browser reconnects after `retry`). A comment line every `keepalive` seconds
keeps proxies from closing an idle stream. A client that falls `backlog` messages behind is dropped.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator

_CLOSE = ""


class Broadcaster:
    def __init__(self, *, max_streams: int = 8, lifetime: float = 300.0, keepalive: float = 15.0,
                 retry_ms: int = 2000, backlog: int = 64) -> None:
        self.max_streams = max_streams
        self.lifetime = lifetime
        self.keepalive = keepalive
        self.retry_ms = retry_ms
        self.backlog = backlog
        self._clients: set[queue.Queue[str]] = set()
        self._lock = threading.Lock()

    @property
    def streams(self) -> int:
        with self._lock:
            return len(self._clients)

    def publish(self, event: str, data: str) -> None:
        """Send `data` (one line of JSON) as an event named `event` to every stream open now."""
        message = f"event: {event}\ndata: {data}\n\n"
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            try:
                client.put_nowait(message)
            except queue.Full:
                self._drop(client)

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            self._drop(client)

    def _drop(self, client: queue.Queue[str]) -> None:
        with self._lock:
            self._clients.discard(client)
        with contextlib.suppress(queue.Full):  # else its stream ends at its next keepalive: it is no longer a client
            client.put_nowait(_CLOSE)

    def open(self) -> LiveStream | None:
        """A new stream's messages, or None when `max_streams` are open already."""
        client: queue.Queue[str] = queue.Queue(self.backlog)
        with self._lock:
            if len(self._clients) >= self.max_streams:
                return None
            self._clients.add(client)
        return LiveStream(self._stream(client), lambda: self._forget(client))

    def _forget(self, client: queue.Queue[str]) -> None:
        with self._lock:
            self._clients.discard(client)

    def _stream(self, client: queue.Queue[str]) -> Generator[str, None, None]:
        ends = time.monotonic() + self.lifetime
        try:
            yield f"retry: {self.retry_ms}\n: connected\n\n"
            while (left := ends - time.monotonic()) > 0:
                try:
                    message = client.get(timeout=min(self.keepalive, left))
                except queue.Empty:
                    with self._lock:
                        if client not in self._clients:
                            return
                    yield ": keepalive\n\n"
                    continue
                if message == _CLOSE:
                    return
                yield message
        finally:
            self._forget(client)


class LiveStream(Iterator[str]):
    """One open stream's messages. Closing it gives its place back whether it was read or not: werkzeug closes a
    HEAD request's body unread, and a generator closed before its first step runs no `finally`."""

    def __init__(self, messages: Generator[str, None, None], forget: Callable[[], None]) -> None:
        self._messages = messages
        self._forget = forget

    def __next__(self) -> str:
        return next(self._messages)

    def close(self) -> None:
        self._messages.close()
        self._forget()

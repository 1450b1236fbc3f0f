"""One connection to a NATS cluster: its asyncio loop on a thread of its own, and a bridge for synchronous callers.

nats-py is asyncio; the rest of monitoringApp is threads and reactivex schedulers. The link owns an event loop on
one daemon thread, connects in the background (and keeps reconnecting for ever, so a cluster that is down at
start or goes away later is waited for, never fatal), and `call` runs a coroutine on that loop from any other
thread with a bound on the wait. No caller ever blocks the loop, and the loop never blocks a clock.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar
from urllib.parse import ParseResult

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from monitoringapp.domain.nats_login import cluster_login
from monitoringapp.domain.sites import shown_server, shown_servers
from monitoringapp.store.log import LogUnavailable

T = TypeVar("T")


def _not_nats_py_tls_noise(record: logging.LogRecord) -> bool:
    # nats-py's stream protocol answers end-of-file with True, which asyncio warns about on every TLS connection
    # ("returning true from eof_received() has no effect when using ssl"): harmless, and not the user's business.
    return not str(record.msg).startswith("returning true from eof_received()")


logging.getLogger("asyncio").addFilter(_not_nats_py_tls_noise)


class NatsLink:
    """`start`, then `call(lambda js: ..., timeout)` from any thread; `close` at the end."""

    def __init__(self, servers: Sequence[str], name: str, *, reconnect_wait: float = 0.5, connect_timeout: int = 2,
                 randomize: bool = True) -> None:
        self.servers = list(servers)
        # The login goes to nats-py as options, used on every server, the servers without it: nats-py tries a node
        # its cluster named with the credentials of that node's URL (none), and a link given one node's URL with a
        # password was refused by every other node once that one died (DifferentLogins: refused by --nats first).
        self._login = cluster_login(self.servers)
        # The order the servers are tried in, first and at each reconnection: shuffled once per link, so that the
        # clients of a cluster spread over its nodes (nats-py's own shuffle, which would hide the order from us);
        # `randomize=False` keeps the order given. A server given twice is one server (see `_FirstTries`).
        distinct = list(dict.fromkeys(self._login.servers))
        self._order = random.sample(distinct, len(distinct)) if randomize else distinct
        self.connect_timeout = connect_timeout  # seconds for one server's TCP connection, and again for its handshake
        self.shown = shown_servers(servers)  # the servers as they may be printed: passwords, tokens as ***
        self.name = name
        self.reconnect_wait = reconnect_wait
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name=f"nats-{name}", daemon=True)
        self._client: Client | None = None
        self._connected = threading.Event()
        # Set once the first connection is made or every server has failed its attempt: until then, nothing is known
        # of the cluster's reach, and a call waits for it rather than say "unreachable" of a cluster that is up.
        self._first_attempt_over = threading.Event()
        self._closing = False
        self._connector: concurrent.futures.Future[None] | None = None
        self._why = ""  # why the connection fails (when every server failed, each one's), said with "unreachable"
        self._server_said = False  # ... and it was the server's answer (a refused password), not the network's

    @property
    def connected(self) -> bool:
        return self._connected.is_set() and self._client is not None and self._client.is_connected

    def start(self) -> NatsLink:
        self._thread.start()
        self._connector = asyncio.run_coroutine_threadsafe(self._connect_for_ever(), self.loop)
        return self

    @property
    def first_attempt_over(self) -> bool:
        """Whether the first connection was made or every server failed its attempt: before, the cluster's reach is
        unknown (a server down only tells that nats-py tries the next)."""
        return self._first_attempt_over.is_set()

    def wait_first_attempt(self, timeout: float) -> bool:
        """Wait at most `timeout` seconds for the first connection to be made or every server to have failed its
        attempt (a cluster that refuses at once is said unreachable at once); whether it is connected."""
        self._first_attempt_over.wait(timeout)
        return self.connected

    def call(self, fn: Callable[[JetStreamContext], Awaitable[T]], timeout: float) -> T:
        """Run `fn(jetstream)` on the link's loop and wait at most `timeout` seconds for its result.

        LogUnavailable when not connected or when the cluster does not answer in time (the caller retries). A call
        made while the link's first connection is still being made (a start on a loaded host; a first server down,
        the next one being tried) waits for it, within `timeout`: an evaluator's first fetch said a cluster that was
        up unreachable."""
        deadline = time.monotonic() + timeout
        if not self._first_attempt_over.wait(timeout):
            raise LogUnavailable(f"NATS at {self.shown} did not answer in {timeout:g}s")
        client = self._client
        if client is None or not client.is_connected:
            raise LogUnavailable(f"{self.unreachable()}; retrying")

        async def run() -> T:
            return await fn(client.jetstream())

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        try:
            return future.result(max(0.0, deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise LogUnavailable(f"NATS at {self.shown} did not answer in {timeout:g}s") from None
        except (TimeoutError, nats.errors.Error, OSError) as error:
            raise LogUnavailable(f"NATS: {self.explain(error)}; retrying") from None

    def submit(self, coroutine: Awaitable[T]) -> Submitted[T]:
        """Schedule a coroutine of the caller's on the link's loop (a long-running task, e.g. a publisher)."""
        return Submitted(coroutine, self.loop)

    async def jetstream(self) -> JetStreamContext:
        """On the loop: the JetStream context, once connected (waits)."""
        while self._client is None or not self._client.is_connected:
            await asyncio.sleep(self.reconnect_wait / 2)
        return self._client.jetstream()

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and end the loop, its own tasks (the connector, a publisher) cancelled."""
        self._closing = True

        async def shut_down() -> None:
            client = self._client
            if client is not None and not client.is_closed:
                with contextlib.suppress(nats.errors.Error, OSError):
                    await client.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        if self._thread.is_alive():
            with contextlib.suppress(concurrent.futures.TimeoutError):
                asyncio.run_coroutine_threadsafe(shut_down(), self.loop).result(timeout)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)

    def unreachable(self) -> str:
        """`NATS at SERVERS is unreachable`, and why when a connection has failed (a refused password)."""
        why = f" ({self._why})" if self._why else ""
        return f"NATS at {self.shown} is unreachable{why}"

    @property
    def refused(self) -> bool:
        """Whether the last connection failed on the server's answer (a wrong password), not the network's."""
        return self._server_said

    def explain(self, problem: BaseException) -> str:
        """What went wrong, in one line a user can act on, with no password in it."""
        return _reason(problem, self.servers)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def _connect_for_ever(self) -> None:
        async def disconnected() -> None:
            self._connected.clear()

        async def reconnected() -> None:
            self._why, self._server_said = "", False
            self._connected.set()
            self._first_attempt_over.set()

        while not self._closing:
            client = Client()
            error = self._on_error(_FirstTries(self._order, client))
            try:
                # Never raises for a server that is away (max_reconnect_attempts=-1): it tries the servers in turn
                # until one answers, reporting each failed attempt to `error`. The client is made here, not by
                # nats.connect, so that `error` can see its pool.
                await client.connect(
                    servers=self._order, dont_randomize=True, name=self.name, connect_timeout=self.connect_timeout,
                    user=self._login.user, password=self._login.password, token=self._login.token,
                    allow_reconnect=True, max_reconnect_attempts=-1,
                    reconnect_time_wait=self.reconnect_wait,  # type: ignore[arg-type]  # seconds, a float is fine
                    disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error)
            except (TimeoutError, nats.errors.Error, OSError) as problem:
                self._note(problem)
                self._first_attempt_over.set()
                await asyncio.sleep(self.reconnect_wait)
                continue
            self._client = client
            self._why, self._server_said = "", False
            self._connected.set()
            self._first_attempt_over.set()
            return

    def _on_error(self, tries: _FirstTries) -> Callable[[Exception], Awaitable[None]]:
        async def error(problem: Exception) -> None:
            """Reconnects are the client's business; each read or write says what it could not do, and why."""
            self._note(problem)
            if self._client is None:  # an attempt of the first connection, which the link waits for
                self._tried(tries, problem)

        return error

    def _tried(self, tries: _FirstTries, problem: BaseException) -> None:
        """A failed attempt of the first connection: once every server has had its own, the first attempt is over
        (said unreachable, each server's reason given). Not at the first failure: nats-py reports a server that is
        down before it tries the next, and a prober said a cluster unreachable whose first node alone was down."""
        tries.failed(_reason(problem, self.servers))
        if tries.every_server_failed:
            reasons = tries.reasons
            if len(reasons) > 1:
                each = (f"{shown_server(server)}: {reasons[server]}" for server in dict.fromkeys(self._login.servers))
                self._why = "; ".join(each)
            self._first_attempt_over.set()

    def _note(self, problem: BaseException) -> None:
        """Keep why the connection fails; a server that refused us (a wrong password) closes the connection
        next, and that broken pipe must not hide the refusal."""
        from_network = isinstance(problem, OSError | TimeoutError)
        if not (from_network and self._server_said):
            self._why, self._server_said = _reason(problem, self.servers), not from_network


class _FirstTries:
    """The failed attempts of a link's first connection, and which server each was on.

    nats-py takes its servers in turn from its pool (in the order given, `dont_randomize`), so the n-th failed
    attempt is on the n-th server, round after round. It reports an attempt to the error callback once or twice:
    a connection the server ended (a reset, a refused password) is reported, then its close is. Each attempt moves
    its server to the end of the pool, which the second report finds as the first left it: the pool unmoved, the
    report is the same attempt's (the servers are distinct, so a move shows). A server that answered (and then
    refused) may name other nodes of its cluster, which nats-py adds to its pool: then a failure is no longer
    known to be a given server's, and only the count says every given server has had a try (the discovered ones
    are tried after them)."""

    def __init__(self, order: Sequence[str], client: Client) -> None:
        self._order = list(order)
        self._client = client
        self._attempts = 0
        self._reasons: dict[str, str] = {}
        self._pool_last_reported: list[ParseResult] | None = None

    def failed(self, why: str) -> None:
        pool = self._client.servers
        if pool == self._pool_last_reported:  # the close of the attempt just reported: its reason is said
            return
        self._pool_last_reported = pool
        server = self._order[self._attempts % len(self._order)]
        self._attempts += 1
        if len(pool) == len(self._order):  # the pool is the servers given
            self._reasons[server] = why

    @property
    def every_server_failed(self) -> bool:
        return self._attempts >= len(self._order)

    @property
    def reasons(self) -> dict[str, str]:
        """Each given server's last reason; empty unless every one's is known."""
        return {} if set(self._order) - self._reasons.keys() else dict(self._reasons)


class Submitted(Generic[T]):
    """A coroutine running on a link's loop, seen from another thread: its result, or its cancellation waited for.

    A `concurrent.futures.Future` cancelled from another thread only asks the loop to cancel its task and returns
    at once, the future already "cancelled": the task's `except` and `finally` clauses (a batch in flight put
    away) run later, on the loop, while the caller goes on as if they had run."""

    def __init__(self, coroutine: Awaitable[T], loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._task: asyncio.Task[T] | None = None
        self._future = asyncio.run_coroutine_threadsafe(self._run(coroutine), loop)

    async def _run(self, coroutine: Awaitable[T]) -> T:
        self._task = asyncio.current_task()
        return await coroutine

    def result(self, timeout: float) -> T:
        """Its result, waited for at most `timeout` seconds (TimeoutError after)."""
        return self._future.result(timeout)

    def cancel(self, timeout: float) -> bool:
        """Cancel it and wait at most `timeout` seconds for the cancellation to have run on the loop (its `except`
        and `finally` clauses done); whether it has. False: the loop did not get to it in time (it is stuck, or
        stopped), and the cancellation may still run later."""

        async def cancelled() -> None:
            # The loop runs what it is handed in the order handed (`call_soon_threadsafe` is FIFO), so the task
            # submitted before this one has started and named itself by now, unless it ended first.
            task = self._task
            if task is not None:
                task.cancel()
                await asyncio.wait({task})

        if self._future.done():
            return True
        try:
            asyncio.run_coroutine_threadsafe(cancelled(), self._loop).result(timeout)
        except concurrent.futures.TimeoutError:
            self._future.cancel()  # the loop, when it comes back, cancels the task: nothing left running
            return False
        return True


# nats-py's word for a JetStream request nobody answered ("no responders"): a server without JetStream, or a
# cluster that has no leader for the stream just now.
NO_JETSTREAM = ("no JetStream answered (is JetStream enabled on the server, nats-server -js? a cluster electing "
                "a leader answers so for a moment)")


def _reason(problem: BaseException, servers: Sequence[str]) -> str:
    """What went wrong, in one line with no password in it (a client error may quote a server's URL)."""
    if isinstance(problem, nats.js.errors.APIError):
        if problem.description is None:
            return NO_JETSTREAM if isinstance(problem, nats.js.errors.ServiceUnavailableError) else \
                f"JetStream refused (code {problem.code})"
        # nats-py's own wording ("nats: ServerError: code=500 err_code=10074 description='...'") hides the answer.
        text = f"JetStream refused: {problem.description}"
    else:
        text = " ".join(str(problem).split()) or type(problem).__name__
    for server in servers:
        text = text.replace(server, shown_server(server))
    return text

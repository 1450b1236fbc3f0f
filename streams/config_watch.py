"""The config file as a stream: a path in, each new valid `Config` version out.

The file is re-read every `every` seconds on `scheduler` (and at once on each
item of `pokes`, e.g. SIGHUP). Reading the bytes rather than trusting the
inode or mtime is what makes an editor's write-temp-and-rename, a symlink
swapped in a mounted directory (Kubernetes ConfigMap style) and a coarse-mtime
file system all look the same: the content changed or it did not. A config
file is a few kB, so one read per poll costs next to nothing.

Only content that differs from the last content seen is validated; a valid
version that differs from the running one is emitted, an invalid one still
there at the next poll (not a save caught half-way) is handed to
`on_rejected`, once, and the stream goes on, so the running config stays in
force.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import reactivex
from reactivex import Observable, abc

from domain.config import Config, ConfigError
from streams.config_file import decode_config, read_config_bytes

POLL_INTERVAL = 0.5


class _ConfigFileState:
    """The last content seen of one config file; `check` answers "is there a new valid version?"."""

    def __init__(self, path: Path, on_rejected: Callable[[ConfigError], None], running: Config | None) -> None:
        self.path = path
        self.on_rejected = on_rejected
        self.running = running
        self.last_digest: bytes | None = None
        self.unsettled_digest: bytes | None = None
        self.missing_polls = 0
        self.last_error: str | None = None
        self.lock = threading.Lock()  # polls and pokes may come from different threads

    def check(self) -> Config | None:
        with self.lock:
            try:
                raw = read_config_bytes(self.path)
            except ConfigError as error:
                self._reject_unreadable(error)
                return None
            self.missing_polls = 0
            digest = _digest(raw)
            if digest == self.last_digest:
                return None
            try:
                version = decode_config(raw, str(self.path))
            except ConfigError as error:
                # An in-place save truncates, then writes: judge invalid content only once it
                # reads the same at the next poll.
                if digest != self.unsettled_digest:
                    self.unsettled_digest = digest
                    return None
                self.last_digest, self.unsettled_digest, self.last_error = digest, None, None
                self.on_rejected(error)
                return None
            self.last_digest, self.unsettled_digest, self.last_error = digest, None, None
            if version == self.running:
                return None  # e.g. only whitespace changed, or back to the running version
            self.running = version
            return version

    def _reject_unreadable(self, error: ConfigError) -> None:
        # An editor that renames the old file away before writing the new one leaves a
        # moment with no file; only a file still missing at the next poll is a mistake.
        self.missing_polls += 1
        if self.missing_polls < 2 or str(error) == self.last_error:
            return
        self.last_error = str(error)
        self.last_digest = None  # whatever comes back next is a new version
        self.on_rejected(error)


def _digest(content: bytes) -> bytes:
    return hashlib.sha256(content).digest()


def config_versions(
    path: str | Path,
    scheduler: abc.SchedulerBase,
    on_rejected: Callable[[ConfigError], None],
    *,
    every: float = POLL_INTERVAL,
    pokes: Observable[Any] | None = None,
    running: Config | None = None,
) -> Observable[Config]:
    """New valid versions of the config file at `path`, noticed within `every` seconds or on a poke.

    `running` is the version the caller already runs with, so that it is not
    emitted again. Example:
    ``config_versions("config.json", EventLoopScheduler(), print).subscribe(monitor.reload)``
    """

    def subscribe(observer: abc.ObserverBase[Config], _: abc.SchedulerBase | None = None) -> abc.DisposableBase:
        state = _ConfigFileState(Path(path), on_rejected, running)

        def on_trigger(_: object) -> None:
            version = state.check()
            if version is not None:
                observer.on_next(version)

        polls: Observable[Any] = reactivex.interval(every, scheduler)
        triggers = polls if pokes is None else reactivex.merge(polls, pokes)
        return triggers.subscribe(on_trigger, observer.on_error, observer.on_completed)

    return Observable(subscribe)

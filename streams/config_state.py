"""The config file's state: its content read again, answering "is there a new valid version?".

`streams.config_watch` asks it every half second and on SIGHUP. Reading the bytes rather than trusting the
inode or mtime is what makes an editor's write-temp-and-rename, a symlink
swapped in a mounted directory (Kubernetes ConfigMap style) and a coarse-mtime
file system all look the same: the content changed or it did not. A config
file is a few kB, so one read per poll costs next to nothing.

Only content that differs from the last content seen is validated; a valid
version that differs from the running one is emitted, an invalid one still
there at the next poll (not a save caught half-way) is rejected, once, and the
running config stays in force. A file valid again after it was rejected, missing, a directory, unreadable
or too large says which of these is over (`ConfigBack`), before the version it brings, if any.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path

from monitoringapp.domain.config import Config, ConfigError
from monitoringapp.streams.config_file import ConfigUnreadable, FileTrouble, decode_config, read_config_bytes


@dataclass(frozen=True, slots=True)
class ConfigRejected:
    """A version of the config file that cannot run (invalid, or the file gone); the running one stays."""

    error: ConfigError


@dataclass(frozen=True, slots=True)
class ConfigBack:
    """The config file readable and valid again after `trouble` (missing, a directory, unreadable, too large,
    or invalid); `changed`: it differs from the running config (its version follows)."""

    path: str
    trouble: FileTrouble
    changed: bool

    def message(self) -> str:
        """`config.json is back`, `... is a file again`, `... is valid again`: what is over, said as such."""
        again = f"{self.path} {self.trouble.value}"
        return again if self.changed else f"{again}, the same as the running config: nothing to reload"


ConfigNews = tuple[Config | ConfigRejected | ConfigBack, ...]

class ConfigFileState:
    """The last content seen of one config file; `check` answers "is there a new valid version?" (`probing`: each
    version read as the probe sends it, see `decode_config`; a reader's without the prober's secrets)."""

    def __init__(self, path: Path, running: Config | None = None, *, probing: bool) -> None:
        self.path = path
        self.running = running
        self.probing = probing
        self.last_digest: bytes | None = None
        self.unsettled_digest: bytes | None = None
        self.missing_polls = 0
        self.last_error: str | None = None
        self.troubled: FileTrouble | None = None  # what kept the file from running since the last valid version
        self.lock = threading.Lock()  # polls and pokes may come from different threads

    def check(self) -> ConfigNews:
        """What is new: a valid version (after `ConfigBack` if the file was rejected or missing), a version
        or file state to reject (said once), or nothing."""
        with self.lock:
            try:
                raw = read_config_bytes(self.path)
            except ConfigUnreadable as error:
                return self._reject_unreadable(error)
            self.missing_polls = 0
            digest = _digest(raw)
            if digest == self.last_digest:
                return ()
            try:
                version = decode_config(raw, str(self.path), probing=self.probing)
            except ConfigError as error:
                # An in-place save truncates, then writes: judge invalid content only once it
                # reads the same at the next poll.
                if digest != self.unsettled_digest:
                    self.unsettled_digest = digest
                    return ()
                self.last_digest, self.unsettled_digest, self.last_error = digest, None, None
                self.troubled = FileTrouble.INVALID
                return (ConfigRejected(error),)
            self.last_digest, self.unsettled_digest, self.last_error = digest, None, None
            changed = version != self.running  # unchanged: e.g. only whitespace, or back to the running version
            back: ConfigNews = ()
            if self.troubled is not None:
                back = (ConfigBack(str(self.path), self.troubled, changed),)
                self.troubled = None
            if not changed:
                return back
            self.running = version
            return (*back, version)

    def _reject_unreadable(self, error: ConfigUnreadable) -> ConfigNews:
        # An editor that renames the old file away before writing the new one leaves a
        # moment with no file; only a file still missing at the next poll is a mistake.
        self.missing_polls += 1
        if self.missing_polls < 2 or str(error) == self.last_error:
            return ()
        self.last_error = str(error)
        self.last_digest = None  # whatever comes back next is a new version
        self.troubled = error.trouble
        return (ConfigRejected(error),)


def _digest(content: bytes) -> bytes:
    return hashlib.sha256(content).digest()

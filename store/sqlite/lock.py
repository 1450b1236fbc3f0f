"""One writer per database: an advisory `flock` on a sidecar file, `<database>.lock`, held for the writer's life.

Never an fcntl lock on the database itself: SQLite uses those, and closing any descriptor of the file
would drop ours. A `flock` belongs to the open file and dies with the process, so a monitor that was
killed never blocks the next one; the sidecar it leaves is reused. The holder writes its process id and
start time into the sidecar, so a refused monitor can say who writes. A closing writer removes the
sidecar while it still holds the lock; a writer that locks a sidecar just removed finds its path gone
or taken by another file, and tries again on the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

from monitoringapp.domain.timefmt import iso_utc
from monitoringapp.store.log import StoreError

_ATTEMPTS = 10


def lock_path(database: Path) -> Path:
    """Beside the file the path leads to: a symbolic link to a database and its target are one database (SQLite
    follows the link too, to one -wal), so they must be one lock."""
    target = database.resolve()
    return target.with_name(target.name + ".lock")


class WriterLock:
    """The lock of one database's writer; `acquire` takes it or raises StoreError naming its holder."""

    def __init__(self, path: Path, descriptor: int, after_a_lost_writer: bool = False) -> None:
        self.path = path
        self._descriptor: int | None = descriptor
        self.after_a_lost_writer = after_a_lost_writer
        """Whether the sidecar held the record of a writer that never released it (killed, a crash, the power
        gone): what it left half written may want mending."""

    @classmethod
    def acquire(cls, database: Path) -> WriterLock:
        path = lock_path(database)
        for _ in range(_ATTEMPTS):
            try:
                descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as error:
                raise StoreError(f"{database}: cannot create its lock file {path}: {error.strerror}") from None
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(descriptor)
                os.close(descriptor)
                raise StoreError(f"{database} is already being written by {holder}") from None
            except OSError as error:
                os.close(descriptor)
                raise StoreError(f"{database}: cannot lock {path}: {error.strerror}") from None
            if _still_at(path, descriptor):
                left = os.pread(descriptor, 1, 0) != b""  # a closing writer removes its sidecar
                record = f"{os.getpid()} {iso_utc(time.time())}\n".encode()
                os.ftruncate(descriptor, 0)
                os.pwrite(descriptor, record, 0)
                return cls(path, descriptor, left)
            os.close(descriptor)  # removed by a writer closing meanwhile: lock the new one
        raise StoreError(f"{database}: its lock file {path} keeps being replaced")

    def release(self) -> None:
        """Remove the sidecar (still holding the lock, so nobody is misled by it), then let go."""
        if self._descriptor is None:
            return
        with contextlib.suppress(OSError):
            if _still_at(self.path, self._descriptor):
                self.path.unlink()
        os.close(self._descriptor)
        self._descriptor = None


def _still_at(path: Path, descriptor: int) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (held.st_dev, held.st_ino)


def _holder(descriptor: int) -> str:
    """"process PID (started TIME)" from the sidecar, or a vaguer word while its holder has not written it."""
    try:
        fields = os.pread(descriptor, 200, 0).decode("ascii").split()
        return f"process {int(fields[0])} (started {fields[1]})"
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return "another process"

"""Files a mode will write that the command line names (`--metrics`, `--keep-db`): checked at start, so a
mistake is one line before anything runs, not a traceback at the end."""

from __future__ import annotations

import os
from pathlib import Path

from monitoringapp.app.usage import UsageError


def check_file_to_write(flag: str, path: str, *, new: bool = False) -> Path:
    """`path` as a file this run may create or replace (with `new`, only create): its directory exists and
    is writable, and what is there already is a regular file we may write. UsageError naming `flag` if not."""
    target = Path(path)
    directory = target.parent
    if not directory.is_dir():
        raise UsageError(f"{flag}: {path}: directory {str(directory)!r} does not exist")
    if os.path.lexists(target):
        if new:
            raise UsageError(f"{flag}: {path} already exists; -t keeps its database only in a new file")
        if not target.is_file():
            raise UsageError(f"{flag}: {path}: is not a file")
        if not os.access(target, os.W_OK):
            raise UsageError(f"{flag}: {path}: not writable (permission denied)")
    elif not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"{flag}: {path}: directory {str(directory)!r} is not writable (permission denied)")
    return target

"""The writer's lock: who holds it, and whether the last holder let it go."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench.processes import REPO
from monitoringapp.store.sqlite.lock import WriterLock, lock_path


def test_a_lock_taken_after_a_writer_that_never_let_it_go_says_so_and_one_after_a_release_does_not(
        tmp_path: Path) -> None:
    # A writer killed while it held the lock leaves its sidecar with its record: the next writer mends what it may
    # have left half written (the open hours' rollups), which a writer that let go had written whole.
    database = tmp_path / "m.db"
    first = WriterLock.acquire(database)
    assert not first.after_a_lost_writer  # no sidecar before it
    first.release()
    second = WriterLock.acquire(database)
    assert not second.after_a_lost_writer  # its holder let go: the sidecar was removed
    second.release()
    holder = subprocess.run(  # takes the lock and dies holding it, as a killed monitor does
        [sys.executable, "-c", "import os, sys\nfrom pathlib import Path\n"
         "from monitoringapp.store.sqlite.lock import WriterLock\n"
         "WriterLock.acquire(Path(sys.argv[1]))\nos._exit(9)", str(database)],
        cwd=REPO, capture_output=True, text=True, timeout=60)
    assert holder.returncode == 9, holder.stderr
    assert lock_path(database).read_text().split()[0].isdigit()  # its record, left behind
    third = WriterLock.acquire(database)
    try:
        assert third.after_a_lost_writer
        assert lock_path(database).read_text().split()[0] == str(os.getpid())
    finally:
        third.release()

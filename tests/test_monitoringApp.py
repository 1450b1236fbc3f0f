"""The entry script: with its dependencies missing it says how to set up, in one line, exit 2."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.processes import ENTRY, unprivileged_prefix

pytestmark = pytest.mark.slow  # real processes


def test_missing_dependencies_are_one_line_saying_how_to_set_up_not_a_traceback(tmp_path: Path) -> None:
    # A checkout with no .venv yet, run by a python without the dependencies (-S: no site-packages).
    entry = shutil.copy(ENTRY, tmp_path / "monitoringApp.py")
    done = subprocess.run([sys.executable, "-S", str(entry), "--check"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=30)
    assert done.stderr.splitlines() == [
        "monitoringApp: error: monitoringapp is not installed; set up first: "
        "python3 -m venv .venv && .venv/bin/pip install -q -e . --config-settings editable_mode=strict"]
    assert (done.returncode, done.stdout) == (2, "")


@pytest.mark.skipif(unprivileged_prefix() is None, reason="root without setpriv cannot be held to file modes")
def test_a_venv_it_may_not_look_into_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    entry = shutil.copy(ENTRY, tmp_path / "monitoringApp.py")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv").chmod(0)
    prefix = unprivileged_prefix()
    assert prefix is not None
    try:
        done = subprocess.run([*prefix, sys.executable, "-S", str(entry), "--check"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=30)
    finally:
        (tmp_path / ".venv").chmod(0o755)
    assert done.stderr.splitlines() == [
        f"monitoringApp: error: cannot run {tmp_path / '.venv' / 'bin' / 'python'}: Permission denied; "
        "set up again: rm -rf .venv && "
        "python3 -m venv .venv && .venv/bin/pip install -q -e . --config-settings editable_mode=strict"]
    assert (done.returncode, done.stdout) == (2, "")

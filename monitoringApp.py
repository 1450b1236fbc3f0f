#!/usr/bin/env python3
"""monitoringApp from a checkout: `./monitoringApp.py` runs the installed `monitoringapp` with the project's .venv."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_VENV_PYTHON = _HERE / ".venv" / "bin" / "python"
_STOPPED_BY_CTRL_C = {"-m", "--monitor", "-a", "--notifications", "-p", "--print"}
SET_UP = "python3 -m venv .venv && .venv/bin/pip install -q -e . --config-settings editable_mode=strict"


def _main() -> int:
    try:
        from monitoringapp.app.cli import main
    except ImportError as error:
        if (error.name or "").startswith("monitoringapp."):
            raise  # a module of an installed package missing: a bug, not a step of set-up
        try:
            # Looking into .venv may itself be refused (a .venv of another user's, mode 700).
            if _VENV_PYTHON.exists() and Path(sys.prefix).resolve() != _VENV_PYTHON.parent.parent.resolve():
                os.execv(str(_VENV_PYTHON), [str(_VENV_PYTHON), *sys.argv])
        except OSError as exec_error:
            print(f"monitoringApp: error: cannot run {_VENV_PYTHON}: {exec_error.strerror}; "
                  f"set up again: rm -rf .venv && {SET_UP}", file=sys.stderr)
            return 2
        # Not set up yet: a user's step missed, not a bug, so one line (as for any user mistake) and exit 2.
        print(f"monitoringApp: error: {error.name or 'monitoringapp'} is not installed; set up first: {SET_UP}",
              file=sys.stderr)
        return 2
    return main()


if __name__ == "__main__":
    try:
        sys.exit(_main())
    except KeyboardInterrupt:  # Ctrl-C while the program loads: what the mode would have exited with
        sys.exit(0 if _STOPPED_BY_CTRL_C & set(sys.argv[1:]) else 130)

#!/usr/bin/env python3
"""monitoringApp: uptime and performance monitoring of HTTP endpoints, from the command line."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_VENV_PYTHON = _HERE / ".venv" / "bin" / "python"


def _use_project_venv() -> None:
    """Run `./monitoringApp.py` with the project's .venv when the system python lacks the dependencies."""
    try:
        import reactivex  # noqa: F401
        import requests  # noqa: F401
    except ImportError as error:
        if _VENV_PYTHON.exists() and Path(sys.prefix).resolve() != _VENV_PYTHON.parent.parent.resolve():
            os.execv(str(_VENV_PYTHON), [str(_VENV_PYTHON), *sys.argv])
        # Not set up yet: a user's step missed, not a bug, so one line (as for any user mistake) and exit 2.
        print(f"monitoringApp: error: {error.name} is not installed; set up first: "
              f"python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]'", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    _use_project_venv()
    if str(_HERE) not in sys.path:
        sys.path.insert(0, str(_HERE))

from app.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

"""`--purge`: placeholder until the mode lands."""

from __future__ import annotations

import argparse


def run_purge(args: argparse.Namespace) -> int:
    from app.cli import UsageError

    raise UsageError("--purge is not available yet")

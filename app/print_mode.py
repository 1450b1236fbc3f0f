"""`-p`: placeholder until the mode lands."""

from __future__ import annotations

import argparse


def run_print(args: argparse.Namespace) -> int:
    from app.cli import UsageError

    raise UsageError("-p is not available yet")

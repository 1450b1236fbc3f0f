"""`-t`: placeholder until the mode lands."""

from __future__ import annotations

import argparse


def run_test_mode(args: argparse.Namespace) -> int:
    from app.cli import UsageError

    raise UsageError("-t is not available yet")

"""`-a`: placeholder until the mode lands."""

from __future__ import annotations

import argparse


def run_notifications(args: argparse.Namespace) -> int:
    from app.cli import UsageError

    raise UsageError("-a is not available yet")

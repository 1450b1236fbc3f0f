"""The config file read for a mode that starts from it, its warnings (unknown keys, a site without URL) on stderr."""

from __future__ import annotations

import sys

from monitoringapp.domain.config import Config
from monitoringapp.streams.config_file import read_config


def read_config_and_warn(path: str) -> Config:
    """The validated config file at `path`; ConfigError (one line) if it cannot run."""
    config = read_config(path)
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return config

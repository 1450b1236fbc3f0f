"""The config file read for a mode that starts from it, and its warnings (unknown keys, a site without URL,
settings under which a site can never alert) on stderr: at start, and for every version a reload brings."""

from __future__ import annotations

import sys

from monitoringapp.domain.config import Config
from monitoringapp.streams.config_file import read_config


def warning_lines(config: Config) -> list[str]:
    return [f"warning: {warning}" for warning in config.warnings]


def read_config_and_warn(path: str, *, probing: bool = True) -> Config:
    """The validated config file at `path`; ConfigError (one line) if it cannot run (`probing`: see
    `read_config`)."""
    config = read_config(path, probing=probing)
    for line in warning_lines(config):
        print(line, file=sys.stderr)
    return config

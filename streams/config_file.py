"""The config file read from disk: a path in, a validated `Config` out (or one-line `ConfigError`)."""

from __future__ import annotations

from pathlib import Path

from domain.config import Config, ConfigError, parse_config


def read_config(path: str | Path) -> Config:
    """Read and validate the config file at `path`."""
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{name}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{name}: config file not readable (permission denied)") from None
    except OSError as error:
        raise ConfigError(f"{name}: cannot read config file: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{name}: not UTF-8 text (byte {error.start})") from None
    return parse_config(text, name)

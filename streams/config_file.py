"""The config file read from disk: a path in, a validated `Config` out (or one-line `ConfigError`)."""

from __future__ import annotations

from pathlib import Path

from monitoringapp.domain.config import MAX_CONFIG_BYTES, Config, ConfigError, parse_config


def read_config(path: str | Path) -> Config:
    """Read and validate the config file at `path`."""
    return decode_config(read_config_bytes(path), str(path))


def read_config_bytes(path: str | Path) -> bytes:
    """The raw content of the config file at `path` (at most MAX_CONFIG_BYTES), or a one-line ConfigError."""
    name = str(path)
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)  # never all of /dev/zero
    except FileNotFoundError:
        raise ConfigError(f"{name}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{name}: is a directory, not a config file") from None
    except PermissionError:
        raise ConfigError(f"{name}: config file not readable (permission denied)") from None
    except OSError as error:
        raise ConfigError(f"{name}: cannot read config file: {error.strerror}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{name}: larger than {MAX_CONFIG_BYTES // 1024} kB: not a config file")
    return raw


def decode_config(raw: bytes, name: str) -> Config:
    """Validate the bytes of a config file named `name`."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{name}: not UTF-8 text (byte {error.start})") from None
    return parse_config(text, name)

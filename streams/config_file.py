"""The config file read from disk: a path in, a validated `Config` out (or one-line `ConfigError`).

Headers' `${NAME}`s are taken from this process's environment, and each site's `caFile` must be a readable
PEM bundle of CA certificates, when the file is read (at start, and at every reload) by a process that probes;
one that never sends a probe (`-w`) reads the sites only, and needs neither.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from monitoringapp.domain.config import MAX_CONFIG_BYTES, Config, ConfigError, parse_config


def read_config(path: str | Path, *, probing: bool = True) -> Config:
    """Read and validate the config file at `path`; `probing=False`: headers' `${NAME}`s kept as written and
    `caFile`s not opened (a reader that sends no probe needs no probe's secret)."""
    return decode_config(read_config_bytes(path), str(path), probing=probing)


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


def decode_config(raw: bytes, name: str, *, probing: bool = True) -> Config:
    """Validate the bytes of a config file named `name` (`probing`: see `read_config`)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{name}: not UTF-8 text (byte {error.start})") from None
    config = parse_config(text, name, os.environ if probing else None)
    for site in config.sites if probing else ():
        if site.request.ca_file is not None:
            check_ca_file(site.request.ca_file, f"{name}: {site.entry}.caFile")
    return config


def check_ca_file(path: str, where: str) -> None:
    """ConfigError unless `path` is a readable PEM bundle of CA certificates."""
    try:
        ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found, got {path!r}") from None
    except OSError as error:
        raise ConfigError(f"{where}: cannot read ({error.strerror}), got {path!r}") from None
    except ssl.SSLError:
        raise ConfigError(f"{where}: not a PEM file of CA certificates, got {path!r}") from None

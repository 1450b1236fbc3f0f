"""The config file read from disk: a path in, a validated `Config` out (or one-line `ConfigError`).

Read for probing (`-m`, and `--check`, which says whether `-m` would start), headers' `${NAME}`s are taken
from this process's environment and each site's `caFile` must be a readable PEM bundle of CA certificates
(at start, and at every reload). A reader (`-p`, `-w`, `-a`, `-e`, `--replay`, `--health`) sends no request:
it reads the headers as written and leaves the `caFile` alone, so it needs neither the prober's secrets nor
its files. A relative `caFile` is in the config file's folder, wherever the monitor was started.
"""

from __future__ import annotations

import os
import ssl
from enum import StrEnum
from pathlib import Path

from monitoringapp.domain.config import MAX_CONFIG_BYTES, Config, ConfigError, parse_config


def read_config(path: str | Path, *, probing: bool = False) -> Config:
    """Read and validate the config file at `path` (`probing`: as the probe sends it)."""
    return decode_config(read_config_bytes(path), str(path), probing=probing)


class FileTrouble(StrEnum):
    """What kept a config file from running; its value is what a reload says once it is over."""

    MISSING = "is back"
    DIRECTORY = "is a file again"
    UNREADABLE = "is readable again"
    TOO_LARGE = "is a config file again"  # a few kB, not a log or an image written over it
    INVALID = "is valid again"  # read, but not a config monitoringApp can run (no ConfigUnreadable)


class ConfigUnreadable(ConfigError):
    """The config file cannot be read as one; `trouble` says how, so that a reload can say what is over."""

    def __init__(self, message: str, trouble: FileTrouble) -> None:
        super().__init__(message)
        self.trouble = trouble


def read_config_bytes(path: str | Path) -> bytes:
    """The raw content of the config file at `path` (at most MAX_CONFIG_BYTES), or a one-line ConfigUnreadable."""
    name = str(path)
    try:
        with Path(path).open("rb") as file:
            raw = file.read(MAX_CONFIG_BYTES + 1)  # never all of /dev/zero
    except FileNotFoundError:
        raise ConfigUnreadable(f"{name}: config file not found", FileTrouble.MISSING) from None
    except IsADirectoryError:
        raise ConfigUnreadable(f"{name}: is a directory, not a config file", FileTrouble.DIRECTORY) from None
    except PermissionError:
        raise ConfigUnreadable(f"{name}: config file not readable (permission denied)",
                               FileTrouble.UNREADABLE) from None
    except OSError as error:
        raise ConfigUnreadable(f"{name}: cannot read config file: {error.strerror}", FileTrouble.UNREADABLE) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigUnreadable(f"{name}: larger than {MAX_CONFIG_BYTES // 1024} kB: not a config file",
                               FileTrouble.TOO_LARGE)
    return raw


def decode_config(raw: bytes, name: str, *, probing: bool = False) -> Config:
    """Validate the bytes of a config file named `name` (`probing`: its `${NAME}`s taken from the environment and
    its caFiles checked)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{name}: not UTF-8 text (byte {error.start})") from None
    # The folder as named (not its symlinks resolved): a ConfigMap's config.json and caFile are links side by side.
    folder = str(Path(name).absolute().parent)
    if not probing:
        return parse_config(text, name, folder=folder)
    config = parse_config(text, name, os.environ, folder)
    for site in config.sites:
        if site.request.ca_file is not None and site.request.ca_path is not None:
            check_ca_file(site.request.ca_path, site.request.ca_file, f"{name}: {site.entry}.caFile")
    return config


def check_ca_file(path: str, written: str, where: str) -> None:
    """ConfigError unless `path` (`written` in the config) is a readable PEM bundle of CA certificates; a
    relative one names where it was looked for."""
    at = "" if path == written else f" at {path} (a relative caFile is in the config file's folder)"
    try:
        ssl.create_default_context(cafile=path)
    except FileNotFoundError:
        raise ConfigError(f"{where}: file not found{at}, got {written!r}") from None
    except ssl.SSLError:  # before OSError, which it is a kind of
        raise ConfigError(f"{where}: not a PEM file of CA certificates{at}, got {written!r}") from None
    except OSError as error:
        raise ConfigError(f"{where}: cannot read ({error.strerror}){at}, got {written!r}") from None

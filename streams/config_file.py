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
from pathlib import Path

from monitoringapp.domain.config import MAX_CONFIG_BYTES, Config, ConfigError, parse_config


def read_config(path: str | Path, *, probing: bool = False) -> Config:
    """Read and validate the config file at `path` (`probing`: as the probe sends it)."""
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

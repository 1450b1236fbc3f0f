"""The config file read from disk: a path in, a validated `Config` out (or one-line `ConfigError`).

Read for probing (`-m`, and `--check`, which says whether `-m` would start), headers' `${NAME}`s are taken
from this process's environment, each site's `caFile` must be a readable PEM bundle of CA certificates and its
`clientCert` (with `clientKey`) a client certificate with its unencrypted key (at start, and at every reload). A
reader (`-p`, `-w`, `-a`, `-e`, `--replay`, `--health`) sends no request: it reads the headers as written and leaves
the files alone, so it needs neither the prober's secrets nor its files. A relative path is in the config file's
folder, wherever the monitor was started.
"""

from __future__ import annotations

import os
import ssl
from enum import StrEnum
from pathlib import Path

from monitoringapp.domain.checks import RequestSpec
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
        request = site.request
        if request.ca_file is not None and request.ca_path is not None:
            check_ca_file(request.ca_path, request.ca_file, f"{name}: {site.entry}.caFile")
        if request.client_cert is not None and request.client_cert_path is not None:
            check_client_certificate(request, f"{name}: {site.entry}")
    return config


def check_client_certificate(request: RequestSpec, where: str) -> None:
    """ConfigError unless the client certificate of `request` and its key (in its file, or in clientKey's) are
    readable PEM that belong together, and the key is not encrypted: one would have OpenSSL ask for its passphrase
    on the terminal at each new connection, holding the probe."""
    files = [("clientCert", request.client_cert_path, request.client_cert),
             ("clientKey", request.client_key_path, request.client_key)]
    shown: dict[str, str] = {}  # each file as an error names it: as written, and where it was looked for
    for field_name, path, written in files:
        if path is None or written is None:
            continue
        at = "" if path == written else f" at {path} (a relative {field_name} is in the config file's folder)"
        shown[field_name] = f"{at}, got {written!r}"
        if not os.path.isfile(path):
            raise ConfigError(f"{where}.{field_name}: file not found{shown[field_name]}")
    key_field = "clientKey" if request.client_key_path is not None else "clientCert"

    def refuse() -> bytes:
        raise _EncryptedKey

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(request.client_cert_path or "",
                                                                request.client_key_path, password=refuse)
    except _EncryptedKey:
        raise ConfigError(f"{where}.{key_field}: its private key is encrypted, and a probe cannot type a passphrase "
                          f"(openssl pkey -in KEY -out PLAIN.pem writes it unencrypted){shown[key_field]}") from None
    except ssl.SSLError as error:  # before OSError, which it is a kind of
        if "KEY_VALUES_MISMATCH" in str(error):
            raise ConfigError(f"{where}.{key_field}: not the private key of clientCert's certificate"
                              f"{shown[key_field]}") from None
        wanted = "a PEM client certificate" + ("" if key_field == "clientKey" else " and its private key")
        why = f" ({error.reason})" if error.reason else ""
        raise ConfigError(f"{where}.clientCert: not {wanted}{why}{shown['clientCert']}") from None
    except OSError as error:
        raise ConfigError(f"{where}.clientCert: cannot read ({error.strerror}){shown['clientCert']}") from None


class _EncryptedKey(Exception):
    """Raised for OpenSSL's passphrase prompt: a client key must not need one."""


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

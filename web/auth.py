"""Basic authentication from an htpasswd-style file: `user:hash` per line, salted hashes only.

Hashes are werkzeug's (`scrypt:...` or `pbkdf2:sha256:...`, salted); make a line with
`python -m monitoringapp.web.passwords USER`. Checking a scrypt hash takes tens of milliseconds, and a
browser sends its credentials with every request, so a pair once verified is remembered (as a keyed
digest, never the password) for the life of the process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

_SCHEMES = ("scrypt:", "pbkdf2:")
_REMEMBERED = 1024


class AuthFileError(Exception):
    """An auth file that cannot be used; the message names the file and line."""


class Users:
    """The users of an auth file; `check(user, password)`."""

    def __init__(self, hashes: dict[str, str], source: str = "", decoy: str | None = None) -> None:
        self.hashes = hashes
        self.source = source
        self._key = secrets.token_bytes(32)
        self._verified: set[bytes] = set()
        self._lock = threading.Lock()
        # What an unknown user's password is checked against: a hash by the method and costs of the file's own, so
        # a name the file does not hold takes the time a wrong password does, and the time tells no one who has an
        # account. None for no users (nothing to tell).
        if decoy is None and hashes:
            decoy = _decoy(_method(next(iter(hashes.values()))))
        self._decoy = decoy

    @classmethod
    def from_file(cls, path: str | Path) -> Users:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise AuthFileError(f"{path}: cannot read: {reason}") from None
        hashes: dict[str, str] = {}
        methods: dict[str, tuple[int, str]] = {}  # each method and costs the file uses: its first line and user
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            user, colon, hashed = line.partition(":")
            if not colon or not user:
                raise AuthFileError(f"{path}:{number}: expected user:hash")
            if not hashed.startswith(_SCHEMES) or hashed.count("$") != 2:
                raise AuthFileError(f"{path}:{number}: user {user!r}: not a salted scrypt or pbkdf2 hash "
                                    "(make one with python -m monitoringapp.web.passwords USER)")
            hashes[user] = hashed
            methods.setdefault(_method(hashed), (number, user))
        if not hashes:
            raise AuthFileError(f"{path}: no users")
        # A method werkzeug cannot hash with (`scrypt:abc`) was a 500 and a traceback at each login as that user.
        decoys = []
        for method, (number, user) in methods.items():
            try:
                decoys.append(_decoy(method))
            except ValueError as error:
                raise AuthFileError(f"{path}:{number}: user {user!r}: its hash's method {method!r} cannot be used "
                                    f"({error}); make one with python -m monitoringapp.web.passwords USER") from None
        return cls(hashes, str(path), decoys[0])

    def check(self, user: str, password: str) -> bool:
        hashed = self.hashes.get(user)
        if hashed is None:
            if self._decoy is not None:
                check_password_hash(self._decoy, password)
            return False
        key = hmac.new(self._key, f"{user}\0{password}\0{hashed}".encode(), hashlib.sha256).digest()
        with self._lock:
            if key in self._verified:
                return True
        if not check_password_hash(hashed, password):
            return False
        with self._lock:
            if len(self._verified) >= _REMEMBERED:
                self._verified.clear()
            self._verified.add(key)
        return True


def _method(hashed: str) -> str:
    """`scrypt:32768:8:1` of `scrypt:32768:8:1$salt$hash`: the method and its costs."""
    return hashed.split("$", 1)[0]


def _decoy(method: str) -> str:
    """A hash of a random password by `method`; ValueError for a method werkzeug does not know."""
    return generate_password_hash(secrets.token_hex(16), method=method)

"""Basic authentication's users: a name the file does not hold costs what a wrong password of one it holds does."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from monitoringapp.web import auth
from monitoringapp.web.auth import AuthFileError, Users
from monitoringapp.web.passwords import auth_line


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256:1000"])
def test_an_unknown_user_is_refused_after_the_same_hashing_as_a_wrong_password(
        method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # It was refused at once (2 ms against 110 ms for alice's wrong password, through a real -w): who has an
    # account was there to read in the answer's time, a name at a time.
    hashed: list[str] = []

    def recorded(pwhash: str, password: str) -> bool:
        hashed.append(pwhash.split("$", 1)[0])  # the method and its costs, not the salt
        return check_password_hash(pwhash, password)

    users = Users({"alice": generate_password_hash("s3cret", method=method)})
    monkeypatch.setattr(auth, "check_password_hash", recorded)
    assert not users.check("alice", "wrong")
    assert not users.check("mallory", "wrong")
    assert not users.check("mallory", "s3cret")
    assert hashed == [generate_password_hash("x", method=method).split("$", 1)[0]] * 3
    assert users.check("alice", "s3cret")


@pytest.mark.parametrize("hashed", ["scrypt:abc$salt$beef", "pbkdf2:nohash:1000$salt$beef", "pbkdf2:sha256:x$s$b"])
def test_a_hash_by_a_method_werkzeug_cannot_use_is_refused_with_the_file_not_at_each_login(
        tmp_path: Path, hashed: str) -> None:
    # It loaded, and each login as bob was a 500 with a traceback on the console.
    users = tmp_path / "users.txt"
    users.write_text(f"{auth_line('alice', 's3cret')}\nbob:{hashed}\n")
    with pytest.raises(AuthFileError) as refused:
        Users.from_file(users)
    method = hashed.split("$")[0]
    assert str(refused.value).startswith(f"{users}:2: user 'bob': its hash's method {method!r} cannot be used (")

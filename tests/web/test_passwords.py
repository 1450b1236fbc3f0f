"""`python -m monitoringapp.web.passwords USER` as a user runs it, without a terminal (the password piped in, as
a script gives it): a line for --auth-file, or one line and status 2, never a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitoringapp.web.auth import Users

pytestmark = pytest.mark.slow


def passwords(*args: str, typed: str) -> subprocess.CompletedProcess[str]:
    # A session of its own: no controlling terminal, so getpass reads the piped input, as in a script.
    return subprocess.run([sys.executable, "-m", "monitoringapp.web.passwords", *args], input=typed, text=True,
                          capture_output=True, timeout=30, start_new_session=True, check=False)


def test_a_password_given_twice_makes_a_line_that_checks_it() -> None:
    made = passwords("alice", typed="pw:with:colons\npw:with:colons\n")
    assert made.returncode == 0 and "Traceback" not in made.stderr
    user, hashed = made.stdout.strip().split(":", 1)
    assert user == "alice" and Users({user: hashed}).check("alice", "pw:with:colons")


@pytest.mark.parametrize(("args", "typed", "said"), [
    (("alice",), "only-once\n", "no password read a second time: nothing made\n"),
    (("alice",), "", "no password read: nothing made\n"),
    (("alice",), "\n\n", "an empty password: nothing made\n"),
    (("alice",), "one\ntwo\n", "the passwords differ\n"),
])
def test_a_password_missing_empty_or_different_is_one_line_and_status_2(args: tuple[str, ...], typed: str,
                                                                        said: str) -> None:
    made = passwords(*args, typed=typed)
    assert (made.returncode, made.stdout) == (2, "") and made.stderr.endswith(said)  # after getpass's prompts
    assert "Traceback" not in made.stderr


def test_help_is_the_usage_not_a_user_named_help() -> None:
    made = passwords("--help", typed="")
    assert (made.returncode, made.stdout) == (0, "usage: python -m monitoringapp.web.passwords USER  (prints "
                                                 "USER:hash for --auth-file)\n")

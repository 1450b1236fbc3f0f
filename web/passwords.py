"""`python -m monitoringapp.web.passwords USER`: asks for a password twice, prints the auth file's line."""

from __future__ import annotations

import getpass
import sys

from werkzeug.security import generate_password_hash


def auth_line(user: str, password: str) -> str:
    """`user:scrypt:...`: a line of an `--auth-file`, with a fresh salt."""
    if not user or ":" in user or any(c.isspace() for c in user):
        raise ValueError(f"a user name has no colon or space, got {user!r}")
    return f"{user}:{generate_password_hash(password, method='scrypt')}"


USAGE = "usage: python -m monitoringapp.web.passwords USER  (prints USER:hash for --auth-file)"


def main(argv: list[str]) -> int:
    if argv in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if len(argv) != 1:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        password = getpass.getpass("password: ")
    except EOFError:  # Ctrl-D, or piped input that ended
        print("no password read: nothing made", file=sys.stderr)
        return 2
    if not password:
        print("an empty password: nothing made", file=sys.stderr)
        return 2
    try:
        again = getpass.getpass("again: ")
    except EOFError:
        print("no password read a second time: nothing made", file=sys.stderr)
        return 2
    if password != again:
        print("the passwords differ", file=sys.stderr)
        return 2
    try:
        print(auth_line(argv[0], password))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("", file=sys.stderr)  # after the prompt
        raise SystemExit(130) from None

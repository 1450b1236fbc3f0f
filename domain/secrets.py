"""Secrets: `${NAME}` references taken from the environment, and the one place that knows every secret of a
config, so that no line, row, page or notification shows one.

A config's secrets are the passwords written in its sites' URLs, the values its sites' URLs and headers take from
the environment, and (once a notifier has expanded them) its channels' URLs' secrets; a prober adds its proxies'
passwords. `Secrets.redact` replaces each of them, as is or in any form a server may echo it (percent-encoded,
escaped in JSON or HTML), by `***`.

Example:
    >>> expand("Bearer ${TOKEN}", {"TOKEN": "s3cret"})
    ('Bearer s3cret', ('s3cret',))
    >>> expand("Bearer ${TOKEN}", {"TOKEN": ""})
    Traceback (most recent call last):
    ...
    monitoringapp.domain.secrets.MissingVariable: environment variable TOKEN is set but empty
    >>> Secrets(("s3cret",)).redact("401 for Bearer s3cret")
    '401 for Bearer ***'
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote, quote_plus, unquote, urlsplit

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def variables(text: str) -> tuple[str, ...]:
    """The names of the `${NAME}`s in `text`, in order."""
    return tuple(match.group(1) for match in _VARIABLE.finditer(text))


def bad_variable(text: str) -> str | None:
    """Why `text`'s `${...}` references cannot be expanded (a bad name, a `${` left open), or None."""
    for name in variables(text):
        if not NAME.match(name):
            return f"${{{name}}} is not an environment variable name"
    if "${" in _VARIABLE.sub("", text):
        return "has a ${ without its closing }"
    return None


class MissingVariable(KeyError):
    """A `${NAME}` that cannot be taken from the environment: not set, or set but empty. An empty one is as much
    a mistake (`TOKEN=` in an env file, a compose file passing on a variable its shell lacks) and is refused
    alike: sent, it is a password, a token or a header's value that is silently missing."""

    def __init__(self, name: str, empty: bool) -> None:
        super().__init__(name)
        self.name = name
        self.empty = empty

    def __str__(self) -> str:
        return f"environment variable {self.name} is {'set but empty' if self.empty else 'not set'}"


def value_of(name: str, environ: Mapping[str, str]) -> str:
    """The value of `${name}` in `environ`; MissingVariable if it is not set or is empty."""
    value = environ.get(name)
    if not value:
        raise MissingVariable(name, empty=value is not None)
    return value


def expand(text: str, environ: Mapping[str, str]) -> tuple[str, tuple[str, ...]]:
    """`text` with every `${NAME}` taken from `environ`, and the values it took (the secrets it now holds).
    MissingVariable for a variable that is not set or is empty."""
    values = {name: value_of(name, environ) for name in variables(text)}
    return _VARIABLE.sub(lambda match: values[match.group(1)], text), tuple(values.values())  # none empty


def url_password(url: str) -> str | None:
    """The password written in `url` as is (not a `${NAME}`), if any."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return None
    return password if password and "${" not in password else None


def url_secrets(url: str) -> tuple[str, ...]:
    """What a probe of `url` sends of its password, in every form a server may echo back: as written, decoded,
    and inside the `Basic` credentials (base64 of `user:password`) requests sends for it."""
    password = url_password(url)
    if password is None:
        return ()
    user = unquote(urlsplit(url).username or "")
    decoded = unquote(password)
    try:
        credentials = b64encode(f"{user}:{decoded}".encode("latin-1")).decode()
    except UnicodeEncodeError:  # credentials no request can carry (the config refuses them)
        return password, decoded
    return password, decoded, credentials


STANDS_ALONE_BELOW = 8
"""A secret shorter than this (a password `0`, a `Bearer ok`) is hidden only where it stands alone, not inside a
longer word or number: replaced everywhere, `status 500` read `status 5******` and `took` read `to***`, text nobody
could read whose stars told the secret itself. A longer one is hidden wherever it is."""

_ALONE_BEFORE = r"(?:(?<!\w)|(?<=%[0-9A-Fa-f]{2}))"  # after a percent-escape (`%2F`) a secret stands alone too


@lru_cache(maxsize=1024)
def _forms(secret: str) -> tuple[tuple[str, ...], re.Pattern[str] | None]:
    """The forms of `secret` a text may carry (longest first), and for a short secret the pattern that finds them
    where they stand alone."""
    import html  # here, not at the top: its entities (0.3 MB) stay out of a monitor whose config has no secret

    escaped = {json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],  # quoted in JSON
               html.escape(secret), html.escape(secret, quote=False)}  # in a page, as a login form echoes it
    encoded = {quote(secret, safe=""), quote(secret), quote_plus(secret)}  # in a URL, or a form's body
    forms = tuple(sorted({secret, *encoded, *escaped}, key=len, reverse=True))
    if len(secret) >= STANDS_ALONE_BELOW:
        return forms, None
    alone = "|".join((_ALONE_BEFORE if re.match(r"\w", form) else "") + re.escape(form)
                     + (r"(?!\w)" if re.search(r"\w\Z", form) else "") for form in forms)
    return forms, re.compile(alone)


def redact(text: str, secrets: Collection[str]) -> str:
    """`text` with every secret (as is, percent-encoded as a URL or a form would carry it, or escaped as a JSON
    string or an HTML page quoting it would) replaced by `***`; a short one only where it stands alone
    (`STANDS_ALONE_BELOW`)."""
    for secret in secrets:
        forms, alone = _forms(secret)
        if alone is not None:
            text = alone.sub("***", text)
            continue
        for form in forms:
            text = text.replace(form, "***")
    return text


@dataclass(frozen=True, slots=True)
class Secrets:
    """Every secret of a config, longest first (so a secret that holds another is replaced whole)."""

    values: tuple[str, ...] = ()

    @classmethod
    def of(cls, values: Iterable[str]) -> Secrets:
        return cls(tuple(sorted({value for value in values if value}, key=len, reverse=True)))

    def __add__(self, other: Secrets) -> Secrets:
        return Secrets.of((*self.values, *other.values))

    def redact(self, text: str) -> str:
        return redact(text, self.values) if self.values else text

    def redact_optional(self, text: str | None) -> str | None:
        return None if text is None else self.redact(text)

    def __repr__(self) -> str:
        return f"Secrets({len(self.values)} hidden)"


NO_SECRETS = Secrets()

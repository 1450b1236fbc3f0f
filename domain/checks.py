"""What a probe sends and what counts as up: a site's request options (`RequestSpec`) and its conditions
(`Conditions`), judged over what an answer gave (status, a bounded body, elapsed time) with no I/O.

Without conditions a site is up when any status below 400 comes back, as it always was. With them, the first
that fails says why the probe is down: the status outside `expectedStatus` (error kind `status`), a
response slower than `maxResponseTime` (`slow`), or a body condition (`condition`: `bodyContains`,
`bodyNotContains`, `bodyMatches`, `bodyNotMatches`, `json`). A body condition is judged on at most the prober's
body limit: a body larger than that fails it with a clear reason, never by downloading it all.

Example:
    >>> conditions = Conditions(expected_status=parse_expected_status([200, "204-206"]), body_contains="ok")
    >>> conditions.judge(200, b'{"status": "ok"}', complete=True, elapsed=0.01)
    (None, None)
    >>> conditions.judge(401, b"", complete=True, elapsed=0.01)
    (<ErrorKind.STATUS: 'status'>, 'status 401, expected 200, 204-206')
    >>> conditions.judge(200, b"error", complete=True, elapsed=0.01)
    (<ErrorKind.CONDITION: 'condition'>, 'bodyContains "ok" not found')
"""

from __future__ import annotations

import codecs
import json
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitoringapp.domain.events import ErrorKind
from monitoringapp.domain.secrets import NO_SECRETS, Secrets

if TYPE_CHECKING:
    import regex

LOWEST_STATUS = 100
HIGHEST_STATUS = 599
BODY_LIMIT = 64 * 1024
"""The bytes of a body a probe reads (and one more, to tell whether there is more)."""
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
"""The statuses whose Location a probe follows (requests' REDIRECT_STATI)."""
BODILESS_STATUSES = frozenset((*range(100, 200), 204, 304))
"""The statuses whose answer never has a body (RFC 9110, 6.4.1)."""
MATCH_LIMIT = 0.5
"""Seconds a bodyMatches or bodyNotMatches may search a body for: a pattern that backtracks without end on some
body (`(a|aa)+$`) gives up there, and the site is down saying so, instead of holding a probe thread for ever."""
JSON_OPERATORS = ("equals", "notEquals", "below", "above", "contains", "exists")
_SHOWN = 60  # characters of a value shown in a reason
_STATUS_RANGE = re.compile(r"^\s*(\d{3})\s*-\s*(\d{3})\s*$")
_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")
Verdict = tuple[ErrorKind | None, str | None]
"""(error kind, reason) of a probe that is down; (None, None) for one that is up."""


class ConditionError(ValueError):
    """A condition that cannot be checked as written; the message says why, in a few words."""


@dataclass(frozen=True, slots=True)
class ExpectedStatus:
    """Statuses that count as up: inclusive (low, high) ranges, and how the config wrote them."""

    ranges: tuple[tuple[int, int], ...]

    def __contains__(self, status: object) -> bool:
        return isinstance(status, int) and any(low <= status <= high for low, high in self.ranges)

    def text(self) -> str:
        """`200, 204-206`."""
        return ", ".join(str(low) if low == high else f"{low}-{high}" for low, high in self.ranges)

    def written(self) -> list[int | str]:
        return [low if low == high else f"{low}-{high}" for low, high in self.ranges]

    def only(self, statuses: frozenset[int]) -> bool:
        """Whether every status that is up is one of `statuses`."""
        return all(status in statuses for low, high in self.ranges for status in range(low, high + 1))


def parse_expected_status(value: object) -> ExpectedStatus:
    """`[200, 204]`, `["200-299", 401]` or one of them alone; ConditionError naming the bad entry."""
    entries = value if isinstance(value, list) else [value]
    if not entries:
        raise ConditionError("must list at least one status or range such as \"200-299\"")
    ranges: list[tuple[int, int]] = []
    for entry in entries:
        if isinstance(entry, int) and not isinstance(entry, bool):
            low = high = entry
        elif isinstance(entry, str) and (match := _STATUS_RANGE.match(entry)):
            low, high = int(match.group(1)), int(match.group(2))
        elif isinstance(entry, str) and entry.strip().isdecimal():  # what int() reads ("²" is a digit, not decimal)
            low = high = int(entry)
        else:
            raise ConditionError(f"must be a status from {LOWEST_STATUS} to {HIGHEST_STATUS} or a range such as "
                                 f"\"200-299\", got {_show(entry)}")
        if not LOWEST_STATUS <= low <= high <= HIGHEST_STATUS:
            raise ConditionError(f"must be a status from {LOWEST_STATUS} to {HIGHEST_STATUS} or a range such as "
                                 f"\"200-299\", got {_show(entry)}")
        ranges.append((low, high))
    return ExpectedStatus(tuple(ranges))


@dataclass(frozen=True, slots=True)
class JsonCondition:
    """One condition on the JSON body: every value `path` finds must pass `operator` with `operand`
    (`exists`: whether the path finds anything at all)."""

    path: str
    operator: str
    operand: Any = field(hash=False)  # any JSON value: a list or an object is not hashable, yet compares
    finder: Any = field(default=None, compare=False, repr=False)  # the compiled JSONPath (jsonpath-ng)
    steps: tuple[str | int, ...] | None = field(default=None, compare=False, repr=False)

    def found(self, document: Any) -> list[Any]:
        """The values the path finds in `document`. A plain path (`$.queue.depth`, `$.items[0].name`) is walked
        directly, a few times faster than jsonpath-ng and with the same answer; any other through jsonpath-ng."""
        if self.steps is None:
            return [match.value for match in self.finder.find(document)]
        value = document
        for step in self.steps:
            present = (step in value if isinstance(value, dict) and isinstance(step, str)
                       else isinstance(value, list) and isinstance(step, int) and step < len(value))
            if not present:
                return []
            value = value[step]
        return [value]

    def check(self, document: Any, secrets: Secrets = NO_SECRETS) -> str | None:
        """Why `document` fails this condition, or None; a value it quotes shows none of `secrets`."""
        try:
            found = self.found(document)
        except Exception as error:  # jsonpath-ng's own failure on this body (a `sub` on a list: TypeError)
            return f"{self.path} could not be evaluated on this body ({type(error).__name__})"
        if self.operator == "exists":
            if bool(found) == self.operand:
                return None
            return f"{self.path} not found" if self.operand else f"{self.path} found, expected none"
        if not found:
            return f"{self.path} not found"
        for value in found:
            problem = self._problem(value)
            if problem is not None:
                return f"{self.path} is {_show(value, secrets)}, expected {problem}"
        return None

    def _problem(self, value: Any) -> str | None:
        operand = self.operand
        if self.operator == "equals":
            return None if _same(value, operand) else _show(operand)
        if self.operator == "notEquals":
            return None if not _same(value, operand) else f"anything but {_show(operand)}"
        if self.operator == "contains":
            if isinstance(value, str) and isinstance(operand, str):
                return None if operand in value else f"to contain {_show(operand)}"
            if isinstance(value, list):
                return None if any(_same(item, operand) for item in value) else f"to contain {_show(operand)}"
            return f"a string or list containing {_show(operand)}"
        if not is_number(value):
            return f"a number {self.operator} {_show(operand)}"
        if self.operator == "below":
            return None if value < operand else f"below {_show(operand)}"
        return None if value > operand else f"above {_show(operand)}"


def parse_json_condition(value: object) -> JsonCondition:
    """`{"path": "$.status", "equals": "ok"}`: a path and one operator; ConditionError if not. The path is
    compiled here (jsonpath-ng, imported only by a config that has a `json` condition)."""
    if not isinstance(value, dict) or "path" not in value:
        raise ConditionError(f"must be an object with a \"path\" and one of {', '.join(JSON_OPERATORS)}, "
                             f"got {_show(value)}")
    operators = [key for key in value if key != "path"]
    unknown = [key for key in operators if key not in JSON_OPERATORS]
    if unknown or len(operators) != 1:
        raise ConditionError(f"needs exactly one of {', '.join(JSON_OPERATORS)} beside \"path\", got "
                             f"{', '.join(operators) or 'none'}")
    (operator,) = operators
    operand = value[operator]
    if operator in ("below", "above") and not is_number(operand):
        raise ConditionError(f"{operator} must be a number, got {_show(operand)}")
    if operator == "exists" and not isinstance(operand, bool):
        raise ConditionError(f"exists must be true or false, got {_show(operand)}")
    path = value["path"]
    if not isinstance(path, str) or not path.strip():
        raise ConditionError(f"path must be a JSONPath such as \"$.status\", got {_show(path)}")
    return JsonCondition(path, operator, operand, compile_json_path(path), plain_steps(path))


def never_passing(conditions: tuple[JsonCondition, ...]) -> tuple[int, int] | None:
    """(i, j) when conditions[i] can never pass beside an earlier conditions[j] on the same path, whatever the body:
    `equals` pins every value the path finds, so another condition on that path must pass for that value (an `equals`
    of another value, a `notEquals` of it, a `below` it is not below); `below` 5 and `above` 10 leave no number;
    `exists` false fails wherever the path finds anything, and every other condition wherever it finds nothing. Two
    spellings of one path are not compared. None when no pair contradicts.

    Example:
        >>> never_passing((parse_json_condition({"path": "$.s", "equals": "UP"}),
        ...                parse_json_condition({"path": "$.s", "equals": "ok"})))
        (1, 0)
    """
    for i, later in enumerate(conditions):
        for j, earlier in enumerate(conditions[:i]):
            if earlier.path == later.path and (_excludes(earlier, later) or _excludes(later, earlier)):
                return i, j
    return None


def _excludes(first: JsonCondition, second: JsonCondition) -> bool:
    """Whether `second` fails wherever `first` (on the same path) passes."""
    if first.operator == "exists" and first.operand is False:
        return not (second.operator == "exists" and second.operand is False)
    if first.operator == "equals" and second.operator != "exists":
        return second._problem(first.operand) is not None
    return first.operator == "below" and second.operator == "above" and second.operand >= first.operand


def plain_steps(path: str) -> tuple[str | int, ...] | None:
    """The keys and indexes of a plain path (`$`, then `.name` and `[n]` steps only), else None."""
    if not path.startswith("$"):
        return None
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None:
            return None
        steps.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    return tuple(steps)


def compile_body_pattern(written: str) -> regex.Pattern[str]:
    """`written` (Python's regular expressions) compiled for bodyMatches and bodyNotMatches by `regex`, whose
    searches take a time limit and let the GIL go (imported only by a config that has one); ConditionError, in the
    words of Python's `re`, for one that is not valid."""
    try:
        re.compile(written)  # refused as Python's own regular expressions refuse it, in their words
    except re.error as error:
        raise ConditionError(f"is not a valid regular expression ({error})") from None
    import regex

    try:
        return regex.compile(written)
    except regex.error as error:  # pragma: no cover - `regex` reads all that `re` reads
        raise ConditionError(f"is not a valid regular expression ({error})") from None


def compile_json_path(path: str) -> Any:
    """The jsonpath-ng expression of `path`; ConditionError naming the problem."""
    try:
        from jsonpath_ng.ext.parser import parse
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ConditionError("needs jsonpath-ng (pip install jsonpath-ng)") from None
    try:
        finder = parse(path)
    except Exception as error:  # JSONPathError, and jsonpath-ng's other types (`split(1)`: DefintionInvalid)
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ConditionError(f"is not a valid JSONPath ({reason[:80]}), got {_show(path)}") from None
    try:
        finder.find({})
    except Exception as error:  # `$.a & b`: NotImplementedError, `` `parent` `` of the root: AssertionError
        raise ConditionError(f"is a JSONPath jsonpath-ng cannot evaluate ({type(error).__name__}), "
                             f"got {_show(path)}") from None
    return finder


@dataclass(frozen=True, slots=True)
class Conditions:
    """What counts as up beyond a status below 400 (all None or empty: nothing more)."""

    expected_status: ExpectedStatus | None = None
    body_contains: str | None = None
    body_matches: regex.Pattern[str] | None = None  # `compile_body_pattern`'s
    json: tuple[JsonCondition, ...] = ()
    max_response_time: float | None = None  # seconds
    body_not_contains: str | None = None  # blackbox's fail_if_body_matches_regexp, as a string or a pattern
    body_not_matches: regex.Pattern[str] | None = None

    @property
    def reads_body(self) -> bool:
        """Whether a condition needs the body's bytes."""
        return any(given for _, given in self._body_conditions())

    def judge(self, status: int, body: bytes, complete: bool, elapsed: float, limit: int = BODY_LIMIT,
              secrets: Secrets = NO_SECRETS, charset: str | None = None) -> Verdict:
        """Whether an answer with `status`, whose first bytes are `body` (`complete`: all of it), that took
        `elapsed` seconds, is up; the first condition that fails says why not, quoting none of `secrets` (a body
        may echo what the probe sent). The body's text is in `charset` (a codec's name, as `body_charset` gives it
        from the answer's Content-Type), UTF-8 when None; a JSON body is read as JSON's own rules say."""
        if self.expected_status is not None:
            if status not in self.expected_status:
                return ErrorKind.STATUS, f"status {status}, expected {self.expected_status.text()}"
        elif status >= 400:
            return None, None  # down, as any status of 400 or more always was; no condition to name
        slow = self.slow(elapsed)
        if slow is not None:
            return slow
        if not self.reads_body:
            return None, None
        if not complete:
            return ErrorKind.CONDITION, (f"body larger than {limit // 1024} kB: {self._body_checks()} not checked "
                                         "(only the first bytes are read)")
        if self.body_contains is not None and not _contains(body, self.body_contains, charset):
            return ErrorKind.CONDITION, f"bodyContains {_show(self.body_contains)} not found"
        if self.body_not_contains is not None and _contains(body, self.body_not_contains, charset):
            return ErrorKind.CONDITION, f"bodyNotContains {_show(self.body_not_contains)} found"
        if self.body_matches is not None or self.body_not_matches is not None:
            # A byte order mark is not the body's text (as a browser reads it): `^` anchors after it.
            text = body.decode(charset or "utf-8-sig", "replace")
            for name, pattern, wanted in (("bodyMatches", self.body_matches, True),
                                          ("bodyNotMatches", self.body_not_matches, False)):
                if pattern is None:
                    continue
                try:
                    # The GIL is let go while it searches (`regex` does so for a str): the monitor goes on meanwhile.
                    found = pattern.search(text, timeout=MATCH_LIMIT)
                except TimeoutError:
                    return ErrorKind.CONDITION, (f"{name} {_show(pattern.pattern)} gave up after {MATCH_LIMIT:g} s: "
                                                 "the pattern backtracks too much on this body")
                if wanted and found is None:
                    return ErrorKind.CONDITION, f"{name} {_show(pattern.pattern)} not matched"
                if not wanted and found is not None:
                    return ErrorKind.CONDITION, (f"{name} {_show(pattern.pattern)} matched "
                                                 f"{_show(found.group(0), secrets)}")
        if self.json:
            try:
                # From the bytes whatever bodyMatches decoded: the parser reads a UTF-8 byte order mark and UTF-16 or
                # UTF-32 only there (a text that begins with a byte order mark it refuses).
                document = json.loads(body)
            except ValueError as error:
                return ErrorKind.CONDITION, f"body is not JSON ({str(error).split(':')[0]})"
            except RecursionError:  # `[[[[...` 64 kB deep: the parser's depth, not the body's syntax
                return ErrorKind.CONDITION, "body is not JSON (nested too deeply)"
            for condition in self.json:
                problem = condition.check(document, secrets)
                if problem is not None:
                    return ErrorKind.CONDITION, problem
        return None, None

    def slow(self, elapsed: float) -> Verdict | None:
        """(`slow`, why) when `elapsed` seconds is more than `max_response_time`; else None."""
        if self.max_response_time is not None and elapsed > self.max_response_time:
            return ErrorKind.SLOW, f"took {elapsed:.3f} s, more than maxResponseTime {self.max_response_time:g} s"
        return None

    def _body_conditions(self) -> tuple[tuple[str, bool], ...]:
        """Each body condition's key, and whether it is given, in the order they are judged."""
        return (("bodyContains", self.body_contains is not None),
                ("bodyNotContains", self.body_not_contains is not None),
                ("bodyMatches", self.body_matches is not None),
                ("bodyNotMatches", self.body_not_matches is not None), ("json", bool(self.json)))

    def _body_checks(self) -> str:
        return ", ".join(name for name, given in self._body_conditions() if given)

    def effective(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.expected_status is not None:
            found["expectedStatus"] = self.expected_status.written()
        if self.body_contains is not None:
            found["bodyContains"] = self.body_contains
        if self.body_not_contains is not None:
            found["bodyNotContains"] = self.body_not_contains
        if self.body_matches is not None:
            found["bodyMatches"] = self.body_matches.pattern
        if self.body_not_matches is not None:
            found["bodyNotMatches"] = self.body_not_matches.pattern
        if self.json:
            found["json"] = [{"path": c.path, c.operator: c.operand} for c in self.json]
        if self.max_response_time is not None:
            found["maxResponseTime"] = self.max_response_time
        return found


NO_CONDITIONS = Conditions()


@dataclass(frozen=True, slots=True)
class ProbeOutcome:
    """What a probe found: the status (None without an HTTP answer), the response time, the error kind and why
    (`detail`), the certificate's notAfter (https), and whether that is up (`up`; None: a status below 400 and
    no error, the rule without conditions)."""

    status: int | None
    response_time_ms: float | None
    error: ErrorKind | None
    detail: str | None = None
    certificate_expiry: float | None = None
    up: bool | None = None

    @property
    def available(self) -> bool:
        if self.up is not None:
            return self.up
        return self.error is None and self.status is not None and self.status < 400


SENSITIVE_HEADER = re.compile(r"auth|cookie|token|secret|key|password|session", re.IGNORECASE)


def shown_header(name: str, value: object) -> object:
    """A header's value as written, as it may be shown: `***` for a literal under a name that may hold a secret
    (`Authorization`, `X-Api-Key`, ...); a `${NAME}` is a name, not a secret, and stays."""
    if (isinstance(value, str) and "${" in value) or not SENSITIVE_HEADER.search(name):
        return value
    return "***"


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """What a probe sends: `method`, `headers` as written (a `${NAME}` unexpanded), their values (`values`) and
    what those took from the environment (`secrets`: never shown), `body` (text), whether redirects are followed, and
    how the TLS certificate is verified (`verify_tls`, against `ca_file` when given: as written, and `ca_path`, where
    it is, a relative one taken from the config file's folder), and the client certificate the probe shows a server
    that asks for one (`client_cert`, with its key in it or in `client_key`; written and where, as `ca_file`)."""

    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # a value written as is may be a secret
    values: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)  # what the headers took from the environment
    body: str | None = None
    json_body: bool = False  # the config gave the body as JSON: sent as application/json
    follow_redirects: bool = True
    verify_tls: bool = True
    ca_file: str | None = None
    ca_path: str | None = None
    client_cert: str | None = None
    client_cert_path: str | None = None
    client_key: str | None = None
    client_key_path: str | None = None

    @property
    def verify(self) -> bool | str:
        """What `requests` takes as `verify`."""
        return self.ca_path if self.verify_tls and self.ca_path else self.verify_tls

    @property
    def cert(self) -> str | tuple[str, str] | None:
        """What `requests` takes as `cert`: the client certificate's file, with its key's when that is apart."""
        if self.client_cert_path is None:
            return None
        return self.client_cert_path if self.client_key_path is None else (self.client_cert_path, self.client_key_path)

    def effective(self) -> dict[str, Any]:
        """As the config would give it; a header that may hold a secret written as is shows `***` (one that
        takes it from the environment, `${NAME}`, shows the name)."""
        found: dict[str, Any] = {"method": self.method}
        if self.headers:
            found["headers"] = {name: shown_header(name, value) for name, value in self.headers}
        if self.body is not None:
            found["body"] = json.loads(self.body) if self.json_body else self.body
        found["followRedirects"] = self.follow_redirects
        found["verifyTls"] = self.verify_tls
        if self.ca_file is not None:
            found["caFile"] = self.ca_file
        if self.client_cert is not None:
            found["clientCert"] = self.client_cert
        if self.client_key is not None:
            found["clientKey"] = self.client_key
        return found


PLAIN_REQUEST = RequestSpec()

_CHARSET = re.compile(r";\s*charset\s*=\s*\"?([^\";\s]+)", re.IGNORECASE)


def body_charset(content_type: str | None) -> str | None:
    """The codec of the charset a Content-Type names (`text/html; charset=ISO-8859-1` → `iso8859-1`); None when it
    names none, one Python does not know, or UTF-8 (the conditions' own default, which also reads past a byte order
    mark).

    Example:
        >>> body_charset('text/plain; charset="windows-1252"'), body_charset("text/html; charset=UTF8")
        ('cp1252', None)
    """
    found = _CHARSET.search(content_type or "")
    if found is None:
        return None
    try:
        codec = codecs.lookup(found.group(1)).name
        b" ".decode(codec, "replace")  # a text encoding, not one of bytes to bytes (`charset=hex`, `base64`)
    except LookupError:
        return None
    return None if codec == "utf-8" else codec


def _contains(body: bytes, text: str, charset: str | None) -> bool:
    """Whether `body`, in `charset` (None: UTF-8, searched as bytes), holds `text`. Another charset's body is decoded
    first: its bytes for one character may hold another's (UTF-16, Shift_JIS), or end where the next begins."""
    if charset is None:
        return text.encode() in body
    return text in body.decode(charset, "replace")


def _same(value: Any, operand: Any) -> bool:
    """JSON equality, at any depth: `true` is not `1`, `1` is `1.0`, `[1]` is not `[true]`."""
    if isinstance(value, bool) or isinstance(operand, bool):
        return type(value) is type(operand) and value == operand
    if isinstance(value, list) and isinstance(operand, list):
        return len(value) == len(operand) and all(_same(v, o) for v, o in zip(value, operand, strict=True))
    if isinstance(value, dict) and isinstance(operand, dict):
        return value.keys() == operand.keys() and all(_same(value[key], operand[key]) for key in value)
    return bool(value == operand)


def is_number(value: Any) -> bool:
    """Whether `value` is a finite JSON number (a boolean is not one)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and is_finite(value)


def is_finite(value: int | float) -> bool:
    # A JSON integer may be too big for a float (math.isfinite would raise); it is finite all the same.
    return isinstance(value, int) or math.isfinite(value)


def _show(value: object, secrets: Secrets = NO_SECRETS) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    text = secrets.redact(text)  # before the cut: a secret cut in two is no longer found whole
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."


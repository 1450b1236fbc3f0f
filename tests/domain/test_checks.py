"""Conditions judged with no I/O: (status, a bounded body, elapsed) in, up or the first reason it is not out."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from monitoringapp.domain.checks import (
    ConditionError,
    Conditions,
    ProbeOutcome,
    parse_expected_status,
    parse_json_condition,
)
from monitoringapp.domain.config import parse_config
from monitoringapp.domain.events import ErrorKind
from monitoringapp.domain.secrets import Secrets

BODY = b'{"status": "ok", "queue": {"depth": 12}, "flags": ["a", "b"], "up": true, "items": [{"n": 1}, {"n": 5}]}'


def json_conditions(*conditions: dict[str, object]) -> Conditions:
    return Conditions(json=tuple(parse_json_condition(c) for c in conditions))


@pytest.mark.parametrize(("condition", "reason"), [
    ({"path": "$.status", "equals": "ok"}, None),
    ({"path": "$.status", "notEquals": "error"}, None),
    ({"path": "$.queue.depth", "below": 100}, None),
    ({"path": "$.queue.depth", "above": 12}, "$.queue.depth is 12, expected above 12"),
    ({"path": "$.flags", "contains": "b"}, None),
    ({"path": "$.status", "contains": "k"}, None),
    ({"path": "$.up", "equals": 1}, "$.up is true, expected 1"),  # JSON: true is not 1
    ({"path": "$.missing", "exists": False}, None),
    ({"path": "$.missing", "equals": 1}, "$.missing not found"),
    ({"path": "$.items[*].n", "below": 3}, "$.items[*].n is 5, expected below 3"),  # every value found must pass
    ({"path": "$.status", "below": 3}, '$.status is "ok", expected a number below 3'),
])
def test_each_json_operator(condition: dict[str, object], reason: str | None) -> None:
    verdict = json_conditions(condition).judge(200, BODY, complete=True, elapsed=0.01)
    assert verdict == ((None, None) if reason is None else (ErrorKind.CONDITION, reason))


@pytest.mark.parametrize(("condition", "body", "reason"), [
    ({"path": "$.flags", "equals": [True]}, b'{"flags": [1]}', "$.flags is [1], expected [true]"),
    ({"path": "$.o", "equals": {"up": True}}, b'{"o": {"up": 1}}', '$.o is {"up": 1}, expected {"up": true}'),
    ({"path": "$.o", "notEquals": {"n": 0}}, b'{"o": {"n": false}}', None),
    ({"path": "$.l", "contains": [0]}, b'{"l": [[false]]}', "$.l is [[false]], expected to contain [0]"),
    ({"path": "$.l", "equals": [1, {"a": [2.0]}]}, b'{"l": [1.0, {"a": [2]}]}', None),  # 1 is 1.0 at any depth
], ids=["in-a-list", "in-an-object", "not-equal-in-an-object", "contained-list", "numbers-at-depth"])
def test_true_is_not_1_inside_a_list_or_an_object_either(condition: dict[str, object], body: bytes,
                                                         reason: str | None) -> None:
    # JSON equality held at the top only: [1] equalled [true], and {"up": 1} equalled {"up": true} (Python's ==).
    verdict = json_conditions(condition).judge(200, body, complete=True, elapsed=0.01)
    assert verdict == ((None, None) if reason is None else (ErrorKind.CONDITION, reason))


def test_the_first_failing_condition_names_itself_status_then_slow_then_the_body() -> None:
    conditions = Conditions(parse_expected_status(["200-204"]), "nope", re.compile("x"), (), 0.5)
    assert conditions.judge(500, BODY, True, 2.0) == (ErrorKind.STATUS, "status 500, expected 200-204")
    assert conditions.judge(200, BODY, True, 2.0) == (ErrorKind.SLOW,
                                                      "took 2.000 s, more than maxResponseTime 0.5 s")
    assert conditions.judge(200, BODY, True, 0.1) == (ErrorKind.CONDITION, 'bodyContains "nope" not found')


def test_a_body_that_was_cut_fails_its_body_conditions_but_not_the_others() -> None:
    assert Conditions(body_contains="ok").judge(200, b"o" * 1024, complete=False, elapsed=0.1, limit=1024) == (
        ErrorKind.CONDITION, "body larger than 1 kB: bodyContains not checked (only the first bytes are read)")
    assert Conditions(max_response_time=1.0).judge(200, b"", complete=False, elapsed=0.1) == (None, None)


def test_a_body_that_is_not_json_says_so() -> None:
    kind, reason = json_conditions({"path": "$.a", "exists": True}).judge(200, b"<html>", True, 0.1)
    assert (kind, reason) == (ErrorKind.CONDITION, "body is not JSON (Expecting value)")


@pytest.mark.parametrize("body", [b"[" * 65536, b'{"a": ' * 20000])
def test_a_body_nested_deeper_than_python_can_parse_is_not_json_not_a_crash(body: bytes) -> None:
    # json.loads raises RecursionError (not a ValueError) on these: it escaped the probe's thread as a traceback.
    assert json_conditions({"path": "$.a", "exists": True}).judge(200, body, True, 0.1) == (
        ErrorKind.CONDITION, "body is not JSON (nested too deeply)")


def test_a_secret_in_a_value_a_reason_quotes_is_hidden_before_the_value_is_cut_and_whatever_json_escapes() -> None:
    # Hidden only after the reason was made, a secret cut at its 60th character showed its first part, and one
    # that JSON escapes (a quote, a backslash) showed whole, escaped.
    secret = 's3cret"\\0123456789'
    body = json.dumps({"session": {"id": "0123456789abcdef0123456789", "token": secret}}).encode()
    verdict = json_conditions({"path": "$.session", "equals": None}).judge(200, body, True, 0.1,
                                                                         secrets=Secrets.of([secret]))
    assert verdict == (ErrorKind.CONDITION, '$.session is {"id": "0123456789abcdef0123456789", "token": "***"}, '
                                            "expected null")
    escaped = json_conditions({"path": "$.session.token", "equals": "x"}).judge(200, body, True, 0.1,
                                                                              secrets=Secrets.of([secret]))
    assert escaped == (ErrorKind.CONDITION, '$.session.token is "***", expected "x"')


def test_json_nan_and_integers_beyond_64_bits_are_read_as_the_standard_library_reads_them() -> None:
    # Not strict JSON, or beyond what a faster parser (orjson: refuses NaN, turns such integers into floats) reads.
    assert json_conditions({"path": "$.depth", "below": 1000}).judge(200, b'{"depth": NaN}', True, 0.1) == (
        ErrorKind.CONDITION, "$.depth is NaN, expected a number below 1000")
    huge = b'{"n": 123456789012345678901234567890}'
    assert json_conditions({"path": "$.n", "equals": 123456789012345678901234567890}).judge(
        200, huge, True, 0.1) == (None, None)


def test_without_conditions_a_status_below_400_is_up_as_it_always_was() -> None:
    assert Conditions().judge(399, b"", True, 9.0) == (None, None)
    assert Conditions().judge(503, b"", True, 0.1) == (None, None)  # down, but not a condition: no kind, no reason
    assert not Conditions().reads_body and Conditions(body_contains="x").reads_body
    assert ProbeOutcome(399, 1.0, None).available and not ProbeOutcome(400, 1.0, None).available
    assert ProbeOutcome(401, 1.0, None, up=True).available


@pytest.mark.parametrize(("written", "problem"), [
    ([], "must list at least one status"),
    ([99], "got 99"), (["600"], 'got "600"'), (["300-200"], 'got "300-200"'), ([True], "got true"),
    (["²"], 'got "²"'),  # a digit to str.isdigit(), not a number to int()
])
def test_a_status_list_that_cannot_be_checked_is_refused(written: list[object], problem: str) -> None:
    with pytest.raises(ConditionError, match=re.escape(problem)):
        parse_expected_status(written)


def test_a_path_that_is_no_jsonpath_is_refused_when_the_config_is_read() -> None:
    with pytest.raises(ConditionError, match=r"is not a valid JSONPath \(Parse error"):
        parse_json_condition({"path": "$.a[", "equals": 1})


@pytest.mark.parametrize(("path", "reason"), [
    ("$.a.`split(1)`", "is not a valid JSONPath (split(1) is not valid)"),  # jsonpath-ng's own exception type
    pytest.param("$.a & b", "is a JSONPath jsonpath-ng cannot evaluate (NotImplementedError)",
                 marks=pytest.mark.filterwarnings(r"ignore:The `&` \(intersection\) operator is deprecated")),
    ("`parent`", "is a JSONPath jsonpath-ng cannot evaluate (AssertionError)"),
])
def test_a_path_jsonpath_ng_fails_on_is_refused_when_the_config_is_read(path: str, reason: str) -> None:
    # The first was a traceback at start; the others raised in every probe's thread: a traceback per tick.
    with pytest.raises(ConditionError) as refused:
        parse_json_condition({"path": path, "exists": True})
    assert str(refused.value) == f"{reason}, got {json.dumps(path)}"


def test_a_path_jsonpath_ng_fails_on_for_one_body_fails_the_condition_and_says_why() -> None:
    condition = json_conditions({"path": "$.a.`sub(/x/, y)`", "exists": True})  # a regex on a list: TypeError
    assert condition.judge(200, b'{"a": "xx"}', True, 0.1) == (None, None)
    assert condition.judge(200, b'{"a": [1]}', True, 0.1) == (
        ErrorKind.CONDITION, "$.a.`sub(/x/, y)` could not be evaluated on this body (TypeError)")


@pytest.mark.parametrize(("module", "condition"), [
    ("jsonpath_ng", "'json': [{'path': '$.a', 'exists': True}]"), ("regex", "'bodyNotMatches': 'err'")])
def test_a_conditions_library_is_imported_only_by_a_config_with_that_condition(module: str, condition: str) -> None:
    probe = ("import json, sys, monitoringapp.app.monitoring_mode, monitoringapp.app.cli\n"
             "from monitoringapp.domain.config import parse_config\n"
             "parse_config(json.dumps({'websites': [{'URL': 'http://a/', 'bodyContains': 'ok'}]}))\n"
             f"before = {module!r} in sys.modules\n"
             f"parse_config(json.dumps({{'websites': [{{'URL': 'http://a/', {condition}}}]}}))\n"
             f"print(before, {module!r} in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True"], done.stderr


@pytest.mark.parametrize("key", ["bodyMatches", "bodyNotMatches"])
def test_a_pattern_that_backtracks_without_end_gives_up_at_its_limit_and_says_so(key: str) -> None:
    # Python's `re` has no limit: `(a|aa)+$` over 40 a's and a b searched for minutes, holding the GIL, so the whole
    # monitor (its clock, its writer, every other probe) stood still.
    conditions = parse_config(json.dumps({"websites": [{"URL": "http://a/", key: "(a|aa)+$"}]})).sites[0].conditions
    verdict = conditions.judge(200, b"a" * 40 + b"b", True, 0.1)
    assert verdict == (ErrorKind.CONDITION, f'{key} "(a|aa)+$" gave up after 0.5 s: the pattern backtracks too much '
                                            "on this body")
    assert conditions.judge(200, b"aaaa", True, 0.1) == ((None, None) if key == "bodyMatches" else (
        ErrorKind.CONDITION, 'bodyNotMatches "(a|aa)+$" matched "aaaa"'))


@pytest.mark.parametrize("path", ["$.status", "$.queue.depth", "$.items[1].n", "$.items[7].n", "$.missing.deeper",
                                  "$.flags[0]", "$.up", "$", "$.status.length"])
def test_a_plain_path_walked_directly_finds_what_jsonpath_finds(path: str) -> None:
    condition = parse_json_condition({"path": path, "exists": True})
    assert condition.steps is not None
    document = json.loads(BODY)
    assert condition.found(document) == [match.value for match in condition.finder.find(document)]
    assert parse_json_condition({"path": "$.items[*].n", "exists": True}).steps is None

"""Tests for the shared spec machinery: checker paths, templates, retry strategy and timeout."""

from __future__ import annotations

import re
from typing import Any

import pytest

from airflow_batch_plugin.specs import (
    EvaluateOnExit,
    Problem,
    RetryStrategy,
    SpecValidationError,
    deferred_validation,
    is_templated,
)
from airflow_batch_plugin.specs.common import (
    camel_to_snake,
    check_timeout,
    format_number,
    timeout_request,
    to_int,
    to_number,
)
from airflow_batch_plugin.specs.validation import Checker, is_unresolved, join_path


def problems_of(build: Any) -> list[Problem]:
    with pytest.raises(SpecValidationError) as info:
        build()
    return info.value.problems


def assert_problem(build: Any, field: str, fragment: str) -> list[Problem]:
    found = problems_of(build)
    assert any(p.field == field and fragment in p.rule for p in found), found
    return found


# --- checker ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "field", "expected"),
    [
        ("", "memory", "memory"),
        ("container", "memory", "container.memory"),
        ("container", "", "container"),
        ("depends_on", "[3]", "depends_on[3]"),
        ("depends_on[3]", "type", "depends_on[3].type"),
    ],
)
def test_join_path(prefix, field, expected):
    assert join_path(prefix, field) == expected


def test_nested_checker_prefixes_fields_and_shares_problems():
    root = Checker("Spec")
    root.at("container").at("volumes[0]").fail("name", "x y", "bad")
    root.fail("", None, "whole spec")
    assert [p.field for p in root.problems] == ["container.volumes[0].name", "Spec"]


def test_checker_skips_templates_in_pattern_and_number_checks():
    c = Checker("Spec")
    c.pattern("name", "{{ params.name }}", re.compile(r"[a-z]+"), "lowercase")
    c.int_range("size", "{{ params.size }}", 2, 10)  # type: ignore[arg-type]
    c.pattern("name", "{% if x %}a{% endif %}", re.compile(r"[a-z]+"), "lowercase")
    assert c.problems == []


def test_error_message_names_field_value_and_rule():
    error = SpecValidationError("Spec", [Problem("container.memory", 3, "must be at least 4 MiB")])
    assert "container.memory=3: must be at least 4 MiB" in str(error)
    assert "1 problem(s)" in str(error)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("{{ ds }}", True), ("a-{% if x %}b{% endif %}", True), ("plain", False), (5, False), (None, False)],
)
def test_is_templated(value, expected):
    assert is_templated(value) is expected


def test_xcomarg_like_values_are_unresolved():
    class FakeXComArg:
        def resolve(self, context: Any) -> str:
            return "job-id"

    assert is_unresolved(FakeXComArg())
    assert not is_unresolved("plain")
    assert not is_unresolved(3)


# --- conversions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5), (" 7 ", 7), (5.0, 5), (5.5, 5.5), ("x", "x"), (True, True), ("{{ n }}", "{{ n }}")],
)
def test_to_int(value, expected):
    assert to_int(value) == expected
    assert type(to_int(value)) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"), [("0.25", 0.25), ("2", 2), ("nan", "nan"), ("abc", "abc"), (1.5, 1.5)]
)
def test_to_number(value, expected):
    assert to_number(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(1, "1"), (1.0, "1"), (0.25, "0.25"), (16, "16"), ("{{ x }}", "{{ x }}")]
)
def test_format_number(value, expected):
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("onExitCode", "on_exit_code"), ("jobId", "job_id"), ("action", "action")],
)
def test_camel_to_snake(name, expected):
    assert camel_to_snake(name) == expected


# --- timeout ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "ok"), [(59, False), (60, True), (3600, True), (0, False), (59.5, False), (True, False)]
)
def test_timeout_minimum_is_60_seconds(seconds, ok):
    c = Checker("Spec")
    check_timeout(c, "timeout_seconds", seconds)
    assert (c.problems == []) is ok
    if not ok:
        assert c.problems[0].field == "timeout_seconds"


def test_timeout_rule_names_aws_minimum():
    c = Checker("Spec")
    check_timeout(c, "timeout_seconds", 59)
    assert "at least 60 seconds" in c.problems[0].rule
    assert c.problems[0].value == 59


def test_timeout_request_shape():
    assert timeout_request(600) == {"attemptDurationSeconds": 600}
    assert timeout_request(None) is None


# --- EvaluateOnExit --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "fragment"),
    [
        ({"action": "RESTART", "on_exit_code": "1"}, "action", "must be one of RETRY, EXIT"),
        ({"action": "RETRY"}, "EvaluateOnExit", "at least one condition"),
        ({"action": "RETRY", "on_exit_code": "1a"}, "on_exit_code", "digits"),
        ({"action": "RETRY", "on_exit_code": "*1"}, "on_exit_code", "digits"),
        ({"action": "RETRY", "on_exit_code": "1" * 513}, "on_exit_code", "512"),
        ({"action": "RETRY", "on_reason": "Out-of-memory"}, "on_reason", "letters, numbers, periods"),
        ({"action": "RETRY", "on_reason": "a*b"}, "on_reason", "ending with '*'"),
        ({"action": "EXIT", "on_status_reason": "x" * 513}, "on_status_reason", "512"),
        ({"action": "EXIT", "on_status_reason": "Host;EC2"}, "on_status_reason", "letters"),
    ],
)
def test_evaluate_on_exit_rules(kwargs, field, fragment):
    assert_problem(lambda: EvaluateOnExit(**kwargs), field, fragment)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"action": "retry", "on_exit_code": "137"},
        {"action": "EXIT", "on_exit_code": "*"},
        {"action": "RETRY", "on_exit_code": "1" * 511 + "*"},
        {"action": "Retry", "on_status_reason": "Host EC2*"},
        {"action": "EXIT", "on_reason": "CannotPullContainerError:*"},
        {"action": "EXIT", "on_reason": "Task failed\tto start."},
        {"action": "RETRY", "on_exit_code": "{{ params.code }}"},
    ],
)
def test_evaluate_on_exit_accepts_aws_patterns(kwargs):
    EvaluateOnExit(**kwargs)


def test_evaluate_on_exit_request_uppercases_action_and_accepts_int_exit_code():
    rule = EvaluateOnExit(action="retry", on_exit_code=137, on_status_reason="Host EC2*")
    assert rule.to_request() == {"action": "RETRY", "onExitCode": "137", "onStatusReason": "Host EC2*"}


# --- RetryStrategy ---------------------------------------------------------------------------


@pytest.mark.parametrize(("attempts", "ok"), [(0, False), (1, True), (10, True), (11, False), ("3", True)])
def test_retry_attempts_are_1_to_10(attempts, ok):
    if ok:
        RetryStrategy(attempts=attempts)
    else:
        found = assert_problem(lambda: RetryStrategy(attempts=attempts), "attempts", "must be at")
        assert found[0].value == attempts


def test_retry_allows_five_rules_not_six():
    rule = EvaluateOnExit(action="EXIT", on_exit_code="1")
    RetryStrategy(attempts=2, evaluate_on_exit=[rule] * 5)
    assert_problem(
        lambda: RetryStrategy(attempts=2, evaluate_on_exit=[rule] * 6), "evaluate_on_exit", "at most 5"
    )


def test_retry_reports_nested_rule_problems_with_their_path():
    found = problems_of(
        lambda: RetryStrategy(
            attempts=0,
            evaluate_on_exit=[{"action": "EXIT", "on_exit_code": "1"}, {"action": "NOPE", "onReason": "x-y"}],
        )
    )
    assert {p.field for p in found} == {
        "attempts",
        "evaluate_on_exit[1].action",
        "evaluate_on_exit[1].on_reason",
    }


def test_retry_rejects_unknown_rule_fields():
    assert_problem(
        lambda: RetryStrategy(evaluate_on_exit=[{"action": "EXIT", "exit_code": "1"}]),
        "evaluate_on_exit[0]",
        "unknown EvaluateOnExit field(s) ['exit_code']",
    )


def test_retry_request():
    strategy = RetryStrategy(
        attempts=3,
        evaluate_on_exit=[
            {"onStatusReason": "Host EC2*", "action": "retry"},
            {"on_reason": "*", "action": "EXIT"},
        ],
    )
    assert strategy.to_request() == {
        "attempts": 3,
        "evaluateOnExit": [
            {"action": "RETRY", "onStatusReason": "Host EC2*"},
            {"action": "EXIT", "onReason": "*"},
        ],
    }
    assert RetryStrategy().to_request() == {"attempts": 1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (4, {"attempts": 4}),
        ({"attempts": 2}, {"attempts": 2}),
        (RetryStrategy(attempts=5), {"attempts": 5}),
        ({"attempts": 2, "evaluateOnExit": [{"action": "EXIT", "onExitCode": "1"}]}, None),
    ],
)
def test_retry_from_value(value, expected):
    strategy = RetryStrategy.from_value(value)
    if expected is not None:
        assert strategy.to_request() == expected
    else:
        assert strategy.to_request()["evaluateOnExit"] == [{"action": "EXIT", "onExitCode": "1"}]


def test_validate_can_run_again_and_problems_does_not_raise():
    with deferred_validation():
        strategy = RetryStrategy(attempts=42)
    assert [p.field for p in strategy.problems()] == ["attempts"]
    with pytest.raises(SpecValidationError, match="attempts=42: must be at most 10"):
        strategy.validate()


def test_specs_are_frozen():
    strategy = RetryStrategy(attempts=2)
    with pytest.raises(AttributeError):
        strategy.attempts = 3  # type: ignore[misc]

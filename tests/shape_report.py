"""Reading an emulator's shape report in tests: every answer it gave must match botocore's shapes.

Every emulator the tests start checks its Batch and CloudWatch Logs answers (tests/conftest.py
turns ``AWS_BATCH_LOCAL_CHECK_SHAPES`` on, and the session emulator gets
``--check-shapes``); these helpers read what it found and fail the test that caused it.
"""

from __future__ import annotations

from typing import Any

from aws_batch_local.shape_middleware import describe_violations, read_shape_report


class ShapeViolationsFound(AssertionError):
    """The emulator answered something botocore's model does not allow."""


def shape_failure(violations: list[dict[str, Any]], where: str) -> ShapeViolationsFound:
    return ShapeViolationsFound(
        f"the emulator's answers differ from botocore's output shapes ({where}); fix the emulator, "
        "or, if AWS itself documents the difference, add it to "
        "aws_batch_local.shape_check.DOCUMENTED_OMISSIONS:\n" + describe_violations(violations)
    )


class ShapeViolationWatch:
    """Follows one emulator's report: which violations are new since the last look."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.seen = 0

    def new_violations(self) -> list[dict[str, Any]]:
        """Return the violations recorded since the last call (the report only ever appends)."""
        report = read_shape_report(self.endpoint_url)
        if not report["enabled"]:
            raise ShapeViolationsFound(f"the emulator at {self.endpoint_url} does not check shapes")
        violations = list(report["violations"])
        new, self.seen = violations[self.seen :], len(violations)
        return new

    def check(self, where: str) -> None:
        """Raise ShapeViolationsFound naming the new violations, if any."""
        new = self.new_violations()
        if new:
            raise shape_failure(new, where)


def assert_answers_match_botocore(endpoint_url: str, where: str = "whole run") -> dict[str, int]:
    """Fail if the emulator at ``endpoint_url`` recorded any violation; return its checked counts."""
    report = read_shape_report(endpoint_url)
    if not report["enabled"]:
        raise ShapeViolationsFound(f"the emulator at {endpoint_url} does not check shapes")
    if report["violations"]:
        raise shape_failure(report["violations"], where)
    return dict(report["checked"])

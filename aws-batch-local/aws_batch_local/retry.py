"""Decide whether a failed attempt is retried, following ``retryStrategy`` and ``evaluateOnExit``."""

from __future__ import annotations

import copy
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


def _condition_holds(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    if value is None:
        return False
    return fnmatchcase(value, pattern)


def _rule_matches(
    rule: Mapping[str, Any], status_reason: str, reason: str | None, exit_code: int | None
) -> bool:
    return (
        _condition_holds(rule.get("onStatusReason"), status_reason)
        and _condition_holds(rule.get("onReason"), reason)
        and _condition_holds(rule.get("onExitCode"), None if exit_code is None else str(exit_code))
    )


def should_retry(
    strategy: Mapping[str, Any],
    attempts_made: int,
    status_reason: str,
    reason: str | None,
    exit_code: int | None,
) -> bool:
    """Return whether a failed attempt gets another one.

    ``attempts`` (default 1) caps the attempts. The first ``evaluateOnExit`` rule whose given
    conditions all match decides (``RETRY`` or ``EXIT``, any case); when none matches, the job is
    retried, as AWS Batch documents.
    """
    if attempts_made >= int(strategy.get("attempts") or 1):
        return False
    for rule in strategy.get("evaluateOnExit") or []:
        if _rule_matches(rule, status_reason, reason, exit_code):
            return str(rule.get("action", "")).upper() == "RETRY"
    return True


def canonical_retry_strategy(strategy: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of ``strategy`` with each ``evaluateOnExit[].action`` as the RetryAction enum.

    AWS accepts the action in any case ("The values aren't case sensitive", API reference
    EvaluateOnExit); botocore's model answers ``RETRY`` or ``EXIT``.
    """
    canonical = copy.deepcopy(dict(strategy))
    for rule in canonical.get("evaluateOnExit") or []:
        if isinstance(rule, dict) and isinstance(rule.get("action"), str):
            rule["action"] = rule["action"].upper()
    return canonical

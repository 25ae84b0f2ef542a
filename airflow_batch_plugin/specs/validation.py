"""Shared validation vocabulary for specs: one error type that names field, value and rule."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import re

#: Markers of a Jinja template. A string holding one is only known after Airflow renders it.
TEMPLATE_MARKERS = ("{{", "{%")


def is_templated(value: Any) -> bool:
    """Tell whether ``value`` is a string holding a Jinja template marker."""
    return isinstance(value, str) and any(marker in value for marker in TEMPLATE_MARKERS)


def is_unresolved(value: Any) -> bool:
    """Tell whether ``value`` is only known at run time: a Jinja template or an XComArg-like object.

    Checks of patterns and numbers skip such values; they run again once the spec is rebuilt
    from the rendered values (see :mod:`airflow_batch_plugin.templating`).
    """
    if isinstance(value, str):
        return is_templated(value)
    return value is not None and not isinstance(value, (bytes, int, float)) and hasattr(value, "resolve")


@dataclass(frozen=True)
class Problem:
    """One broken rule: which field, what value it had, and the rule it breaks."""

    field: str
    value: Any
    rule: str

    def __str__(self) -> str:
        shown = repr(self.value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        return f"{self.field}={shown}: {self.rule}"


class SpecValidationError(ValueError):
    """Raised before any AWS call when a spec breaks one or more of AWS Batch's rules."""

    def __init__(self, spec_name: str, problems: Iterable[Problem]) -> None:
        self.spec_name = spec_name
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Invalid {spec_name} ({len(self.problems)} problem(s)):\n{lines}")


def join_path(prefix: str, field: str) -> str:
    """Join a field path and a field name: ``("container", "memory") -> "container.memory"``."""
    if not prefix:
        return field
    if not field:
        return prefix
    if field.startswith("["):
        return prefix + field
    return f"{prefix}.{field}"


class Checker:
    """Collects problems so a spec reports every broken rule at once, not just the first.

    A checker made by :meth:`at` shares the problem list and prefixes every field with its
    path, so nested specs report ``container.memory`` or ``depends_on[3].type``. Pattern and
    number checks skip values that are still Jinja templates (:func:`is_unresolved`).
    """

    def __init__(self, spec_name: str, prefix: str = "", problems: list[Problem] | None = None) -> None:
        self.spec_name = spec_name
        self.prefix = prefix
        self.problems: list[Problem] = [] if problems is None else problems

    def at(self, path: str) -> Checker:
        """Return a checker for the nested field ``path`` that records into the same list."""
        return Checker(self.spec_name, join_path(self.prefix, path), self.problems)

    def fail(self, field: str, value: Any, rule: str) -> None:
        """Record a problem; an empty ``field`` names the spec itself (its path, or its class)."""
        path = join_path(self.prefix, field) or self.spec_name
        self.problems.append(Problem(path, value, rule))

    def check(self, condition: bool, field: str, value: Any, rule: str) -> bool:
        """Record a problem unless ``condition`` holds; return ``condition``."""
        if not condition:
            self.fail(field, value, rule)
        return condition

    def pattern(self, field: str, value: str | None, regex: re.Pattern[str], rule: str) -> None:
        if value is not None and not is_unresolved(value):
            self.check(isinstance(value, str) and bool(regex.fullmatch(value)), field, value, rule)

    def int_range(self, field: str, value: int | None, low: int | None, high: int | None) -> None:
        if value is None or is_unresolved(value):
            return
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, value, "must be a whole number")
            return
        if low is not None and value < low:
            self.fail(field, value, f"must be at least {low}")
        if high is not None and value > high:
            self.fail(field, value, f"must be at most {high}")

    def json_size(self, field: str, value: Any, limit_bytes: int, what: str) -> None:
        size = json_size(value)
        self.check(
            size <= limit_bytes,
            field,
            f"<{size} bytes>",
            f"{what} is {size} bytes serialized, over AWS Batch's limit of {limit_bytes} bytes",
        )

    def tags(
        self, field: str, tags: Mapping[str, str] | None, max_tags: int = 50, added: Sequence[str] = ()
    ) -> None:
        """AWS tag rules: at most 50, keys 1..128 and values 0..256 characters, no ``aws:`` prefix.

        ``added``: the tags the package adds itself, which leave that much less room.
        """
        if not tags:
            return
        if not isinstance(tags, Mapping):
            self.fail(field, tags, "must be a dict of tag key to tag value")
            return
        own = [key for key in tags if key not in added]
        room = max_tags - len(added)
        rule = f"at most {max_tags} tags"
        if added:
            rule = (
                f"at most {room} tags of your own: AWS allows {max_tags} and the plugin adds "
                f"{len(added)} ({', '.join(added)})"
            )
        self.check(len(own) <= room, field, f"<{len(own)} tags>", rule)
        for key, value in tags.items():
            self.check(
                isinstance(key, str) and 1 <= len(key) <= 128,
                f"{field}[{key!r}]",
                key,
                "tag keys are 1 to 128 characters",
            )
            self.check(
                not str(key).lower().startswith("aws:"),
                f"{field}[{key!r}]",
                key,
                "tag keys must not start with 'aws:' (reserved by AWS)",
            )
            self.check(
                isinstance(value, str) and len(value) <= 256,
                f"{field}[{key!r}]",
                value,
                "tag values are strings of at most 256 characters",
            )

    def raise_if_any(self) -> None:
        if self.problems:
            raise SpecValidationError(self.spec_name, self.problems)


def json_size(value: Any) -> int:
    """Size in bytes of ``value`` as compact JSON, as AWS counts request payloads."""
    return len(json.dumps(value, separators=(",", ":"), default=str).encode())


def drop_none(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy without keys whose value is None (AWS requests omit unset fields)."""
    return {k: v for k, v in mapping.items() if v is not None}

"""Plan how to make an AWS Batch resource match its spec: create, update in place, or nothing.

A spec's ``plan(current)`` compares the spec with the resource as AWS's Describe* call returns
it and answers with an :class:`UpdatePlan`. Only fields the spec sets are compared; what AWS
fills in by itself (ARNs, status, defaults, ``aws:`` tags, the order of set-like lists) is
ignored. A difference AWS cannot apply in place makes the plan ``replace_required`` and names
each such field with AWS's reason; nothing is then written.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

__all__ = [
    "PlanAction",
    "ReplacementRequiredError",
    "UpdatePlan",
]

PlanAction = Literal["create", "update", "none", "replace_required"]

#: Tag keys AWS (and services such as CloudFormation) set by themselves; never compared.
AWS_TAG_PREFIX = "aws:"
#: Statuses of a described resource that count as absent (it is gone or going).
GONE_STATUSES = ("DELETED",)


class ReplacementRequiredError(ValueError):
    """Raised when a resource differs from its spec in fields AWS cannot update in place."""

    def __init__(self, plan: UpdatePlan) -> None:
        self.plan = plan
        super().__init__(plan.summary())


@dataclasses.dataclass(frozen=True, kw_only=True)
class UpdatePlan:
    """Say what it takes to make one AWS Batch resource match its spec.

    :param resource: the kind of resource: ``"compute environment"``, ``"job queue"`` or
        ``"scheduling policy"``.
    :param name: the resource's name.
    :param action: ``"create"`` (absent: send ``create_request``), ``"update"`` (send
        ``update_request`` when it is not None, and the tag changes), ``"none"`` (it matches:
        write nothing) or ``"replace_required"`` (some difference can only be fixed by replacing
        the resource: see ``replacement_fields``; nothing is to be written).
    :param create_request: keyword arguments of boto3's ``create_*`` call, for ``"create"``.
    :param update_request: keyword arguments of boto3's ``update_*`` call: the identifier and only
        the fields that differ. With ``"create"``, what the create call cannot set (a compute
        environment's ``updatePolicy``, or its DISABLED state), to send once the new resource
        is VALID.
    :param resource_arn: the ARN of the existing resource (for TagResource/UntagResource).
    :param tags_to_add: tags to set with TagResource (new keys and changed values).
    :param tag_keys_to_remove: tag keys to remove with UntagResource.
    :param differences: one ``field: current -> desired`` line per difference found.
    :param replacement_fields: for each field AWS cannot change in place, why.
    """

    resource: str
    name: str
    action: PlanAction
    create_request: dict[str, Any] | None = None
    update_request: dict[str, Any] | None = None
    resource_arn: str | None = None
    tags_to_add: dict[str, str] = dataclasses.field(default_factory=dict)
    tag_keys_to_remove: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()
    replacement_fields: dict[str, str] = dataclasses.field(default_factory=dict)

    def summary(self) -> str:
        """Describe the plan in a few lines: what happens, every difference and every blocker."""
        headline = {
            "create": "does not exist: create it",
            "update": "differs: update it in place",
            "none": "matches its spec: nothing to do",
            "replace_required": (
                "differs in fields AWS cannot update in place: delete and re-create it (or give it "
                "a new name) to apply them"
            ),
        }[self.action]
        lines = [f"{self.resource} {self.name!r} {headline}"]
        lines.extend(f"  - {line}" for line in self.differences)
        if self.replacement_fields:
            lines.append("  cannot be changed in place:")
            lines.extend(f"  - {field}: {reason}" for field, reason in self.replacement_fields.items())
        return "\n".join(lines)

    def raise_if_replacement_required(self) -> None:
        """Raise :class:`ReplacementRequiredError` when the plan is ``replace_required``."""
        if self.action == "replace_required":
            raise ReplacementRequiredError(self)


# --- building a plan -------------------------------------------------------------------------


class PlanBuilder:
    """Collect differences, in-place changes and blockers while a spec compares itself."""

    def __init__(self, resource: str, name: str, identifier: dict[str, Any]) -> None:
        self.resource = resource
        self.name = name
        self.identifier = identifier
        self.update: dict[str, Any] = {}
        self.differences: list[str] = []
        self.replacement: dict[str, str] = {}

    def differ(self, field: str, current: Any, desired: Any) -> None:
        """Record a difference as ``field: current -> desired``."""
        self.differences.append(f"{field}: {show(current)} -> {show(desired)}")

    def set(self, path: str, value: Any) -> None:
        """Put ``value`` in the update request at the dotted ``path`` (``computeResources.maxvCpus``)."""
        target = self.update
        *parents, leaf = path.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = value

    def replace(self, field: str, reason: str) -> None:
        """Record that ``field`` can only change by replacing the resource, and why."""
        self.replacement.setdefault(field, reason)

    def build(
        self,
        *,
        resource_arn: str | None,
        desired_tags: Mapping[str, str] | None,
        current_tags: Mapping[str, str] | None,
    ) -> UpdatePlan:
        """Return the plan: replacement beats update beats none."""
        tags_to_add, tag_keys_to_remove = tag_changes(desired_tags, current_tags)
        differences = list(self.differences)
        for key in sorted(tags_to_add):
            old = (current_tags or {}).get(key)
            differences.append(f"tags[{key!r}]: {show(old)} -> {show(tags_to_add[key])}")
        for key in tag_keys_to_remove:
            differences.append(f"tags[{key!r}]: {show((current_tags or {})[key])} -> <removed>")
        plan = UpdatePlan(
            resource=self.resource,
            name=self.name,
            action="none",
            resource_arn=resource_arn,
            differences=tuple(differences),
        )
        if self.replacement:
            return dataclasses.replace(
                plan, action="replace_required", replacement_fields=dict(self.replacement)
            )
        if not self.update and not tags_to_add and not tag_keys_to_remove:
            return plan
        return dataclasses.replace(
            plan,
            action="update",
            update_request={**self.identifier, **self.update} if self.update else None,
            tags_to_add=tags_to_add,
            tag_keys_to_remove=tag_keys_to_remove,
        )


def create_plan(
    resource: str, name: str, create_request: dict[str, Any], follow_up: dict[str, Any] | None = None
) -> UpdatePlan:
    """Return the plan for a resource that does not exist yet."""
    return UpdatePlan(
        resource=resource,
        name=name,
        action="create",
        create_request=create_request,
        update_request=follow_up,
        differences=("<absent> -> created",),
    )


def is_absent(current: Mapping[str, Any] | None) -> bool:
    """Tell whether a described resource counts as absent (None, or already DELETED)."""
    return current is None or current.get("status") in GONE_STATUSES


# --- comparing -------------------------------------------------------------------------------


def show(value: Any) -> str:
    """Render a value for a difference line: short, stable, sets sorted."""
    if value is None:
        return "<unset>"
    if isinstance(value, (set, frozenset)):
        return repr(sorted(value, key=str))
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def user_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Return the tags a user manages: every key except AWS's own ``aws:`` keys."""
    return {k: v for k, v in (tags or {}).items() if not str(k).lower().startswith(AWS_TAG_PREFIX)}


def tag_changes(
    desired: Mapping[str, str] | None, current: Mapping[str, str] | None
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Return the tags to add and the tag keys to remove; None desired means tags are not managed."""
    if desired is None:
        return {}, ()
    have = user_tags(current)
    add = {k: v for k, v in desired.items() if have.get(k) != v}
    remove = tuple(sorted(k for k in have if k not in desired))
    return add, remove


def arn_resource_name(value: Any, resource_type: str) -> Any:
    """Return the name in an ARN of ``resource_type`` (``…:job-queue/name`` -> ``name``); else ``value``."""
    if isinstance(value, str) and value.startswith("arn:"):
        marker = f":{resource_type}/"
        if marker in value:
            return value.split(marker, 1)[1]
    return value


def arn_prefix_of(arn: Any) -> str | None:
    """Return ``arn:partition:batch:region:account`` from a Batch ARN, or None."""
    if isinstance(arn, str):
        match = re.match(r"(arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}):", arn)
        if match:
            return match.group(1)
    return None


def floats_equal(a: Any, b: Any) -> bool:
    """Compare two numbers as AWS stores floats (a relative tolerance of 1e-9)."""
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    except (TypeError, ValueError):
        return bool(a == b)


def compare(
    builder: PlanBuilder,
    field: str,
    desired: Any,
    current: Any,
    *,
    key: Callable[[Any], Any] = lambda value: value,
) -> bool:
    """Record a difference when a set ``desired`` differs from ``current``; return whether it does.

    ``key`` maps both sides to the form compared (names for ARNs, sets for unordered lists).
    """
    if desired is None:
        return False
    if key(desired) == key(current):
        return False
    builder.differ(field, current, desired)
    return True


def as_set(values: Iterable[Any] | None) -> frozenset[Any]:
    """Return a list as a set, for lists AWS treats as sets (subnets, security groups)."""
    return frozenset(values or ())

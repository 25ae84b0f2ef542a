"""Describe an AWS Batch fair-share scheduling policy, check it against AWS's rules, plan updates.

A fair-share policy splits the capacity of the queues using it between share identifiers (jobs
carry one in ``shareIdentifier``): a lower weight factor gets more capacity. AWS updates every
field of a fair-share policy in place; only its kind (fair share vs quota share) is fixed.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from airflow_batch_plugin.specs.common import (
    JOB_DEFINITION_NAME,
    BatchSpec,
    SpecContext,
    check_non_empty,
    coerce_spec,
    deferred_validation,
    is_number,
    to_int,
    to_number,
)
from airflow_batch_plugin.specs.extra_fields import (
    RequestModel,
    check_extra_fields,
    own_request_or_none,
    plan_extra_fields,
    with_extra_fields,
)
from airflow_batch_plugin.specs.update_plan import (
    PlanBuilder,
    UpdatePlan,
    create_plan,
    floats_equal,
    is_absent,
)
from airflow_batch_plugin.specs.validation import Checker, drop_none, is_unresolved

__all__ = [
    "MAX_SHARE_IDENTIFIERS",
    "SCHEDULING_POLICY_ARN",
    "SchedulingPolicySpec",
    "ShareAttributes",
]

#: ARN of a scheduling policy.
SCHEDULING_POLICY_ARN = re.compile(
    r"arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}:scheduling-policy/[A-Za-z0-9_-]{1,128}"
)
NAME_RULE = "must be 1 to 128 letters, numbers, hyphens (-) and underscores (_)"
MAX_SHARE_DECAY_SECONDS = 604_800
MAX_COMPUTE_RESERVATION = 99
MIN_WEIGHT, MAX_WEIGHT = 0.0001, 999.9999
#: A job queue holds at most 500 active share identifiers, so more entries can never all apply.
MAX_SHARE_IDENTIFIERS = 500
DEFAULT_WEIGHT = 1.0
_SHARE_IDENTIFIER = re.compile(r"[A-Za-z0-9]{1,255}\*?")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ShareAttributes(BatchSpec):
    """Give one share identifier, or every identifier with a prefix, its weight.

    :param share_identifier: up to 255 letters and numbers; a trailing ``*`` makes it a prefix
        (``"teamA*"`` covers every identifier starting with ``teamA``).
    :param weight_factor: 0.0001 to 999.9999 (AWS's default 1.0); a lower weight gets more
        capacity: 0.125 gets 8 times the share of 1.
    """

    share_identifier: str
    weight_factor: float | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("weight_factor", to_number(self.weight_factor))

    def _check(self, c: Checker, context: SpecContext) -> None:
        if check_non_empty(c, "share_identifier", self.share_identifier):
            c.pattern(
                "share_identifier",
                self.share_identifier,
                _SHARE_IDENTIFIER,
                "must be up to 255 letters and numbers, optionally followed by '*'",
            )
        weight = self.weight_factor
        if weight is None or is_unresolved(weight):
            return
        if c.check(is_number(weight), "weight_factor", weight, "must be a number"):
            c.check(
                MIN_WEIGHT <= float(weight) <= MAX_WEIGHT,
                "weight_factor",
                weight,
                f"must be from {MIN_WEIGHT} to {MAX_WEIGHT}",
            )

    def to_request(self) -> dict[str, Any]:
        weight: Any = self.weight_factor
        return drop_none(
            {
                "shareIdentifier": self.share_identifier,
                "weightFactor": float(weight) if is_number(weight) else weight,
            }
        )


def _share_from_value(value: Any) -> ShareAttributes | None:
    with deferred_validation():
        if isinstance(value, str):
            return ShareAttributes(share_identifier=value)
        if isinstance(value, tuple) and len(value) == 2:
            return ShareAttributes(share_identifier=value[0], weight_factor=value[1])
    return None


def _overlaps(a: str, b: str) -> bool:
    """Tell whether two share identifiers can match the same job (``"A*"`` overlaps ``"A1"``)."""
    if a.endswith("*") and b.startswith(a[:-1]):
        return True
    return b.endswith("*") and a.startswith(b[:-1])


def _distribution_key(entries: Any) -> dict[str, float]:
    result: dict[str, float] = {}
    for entry in entries or ():
        item = entry.to_request() if isinstance(entry, BatchSpec) else dict(entry)
        weight = item.get("weightFactor")
        result[str(item.get("shareIdentifier"))] = DEFAULT_WEIGHT if weight is None else float(weight)
    return result


def _same_distribution(a: Mapping[str, float], b: Mapping[str, float]) -> bool:
    return a.keys() == b.keys() and all(floats_equal(a[key], b[key]) for key in a)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SchedulingPolicySpec(BatchSpec):
    """Describe a fair-share scheduling policy for job queues.

    :param name: 1 to 128 letters, numbers, hyphens and underscores.
    :param share_decay_seconds: the window, 0 to 604,800 seconds (a week), over which past usage
        counts; 0 means AWS's minimum window.
    :param compute_reservation: 0 to 99: the percentage of vCPUs held back for share identifiers
        not yet active.
    :param share_distribution: weights per share identifier: a dict ``{"teamA": 0.5, "teamB*": 2}``,
        or a list of :class:`ShareAttributes`, dicts, identifiers or ``(identifier, weight)``
        pairs. Identifiers must not overlap (``"A*"`` with ``"A1"``). Unlisted identifiers weigh 1.0.
    :param tags: up to 50 tags.
    :param extra_request_fields: CreateSchedulingPolicy members the spec does not model yet, in
        AWS's shape, deep-merged into the create request (also into ``fairsharePolicy``) and
        checked by botocore's parameter validation; a member the spec sets (or, at the top
        level, models) is refused. On an existing policy, :meth:`plan` compares each extra
        member DescribeSchedulingPolicies returns: a difference goes into the
        UpdateSchedulingPolicy request when that operation has the member (a ``fairsharePolicy``
        member goes in with the whole policy, which the update replaces), else it makes the
        plan ``replace_required``. See :mod:`airflow_batch_plugin.specs.extra_fields`.
    """

    #: What the spec models of CreateSchedulingPolicy: request member -> spec field(s).
    _REQUEST_MODEL: ClassVar[RequestModel] = RequestModel(
        "CreateSchedulingPolicy",
        {
            "name": "name",
            "fairsharePolicy": "share_decay_seconds, compute_reservation, share_distribution",
            "tags": "tags",
        },
    )

    name: str
    share_decay_seconds: int | None = None
    compute_reservation: int | None = None
    share_distribution: Sequence[ShareAttributes | Mapping[str, Any] | str] | Mapping[str, float] | None = (
        None
    )
    tags: Mapping[str, str] | None = None
    extra_request_fields: Mapping[str, Any] | None = None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("share_decay_seconds", to_int(self.share_decay_seconds))
        self._replace_field("compute_reservation", to_int(self.compute_reservation))
        shares = self.share_distribution
        if shares is None:
            return
        if isinstance(shares, Mapping) and not ({"share_identifier", "shareIdentifier"} & set(shares)):
            with deferred_validation():
                shares = [
                    ShareAttributes(share_identifier=key, weight_factor=value)
                    for key, value in shares.items()
                ]
        elif isinstance(shares, (Mapping, ShareAttributes)):
            shares = [shares]
        if isinstance(shares, Sequence) and not isinstance(shares, str):
            shares = [
                coerce_spec(
                    c, f"share_distribution[{index}]", item, ShareAttributes, from_scalar=_share_from_value
                )
                for index, item in enumerate(shares)
            ]
        else:
            c.fail("share_distribution", shares, "must be a dict of share identifier to weight, or a list")
        self._replace_field("share_distribution", shares)

    def _check(self, c: Checker, context: SpecContext) -> None:
        if check_non_empty(c, "name", self.name):
            c.pattern("name", self.name, JOB_DEFINITION_NAME, NAME_RULE)
        c.int_range("share_decay_seconds", self.share_decay_seconds, 0, MAX_SHARE_DECAY_SECONDS)
        c.int_range("compute_reservation", self.compute_reservation, 0, MAX_COMPUTE_RESERVATION)
        c.tags("tags", self.tags)
        check_extra_fields(
            c, self.extra_request_fields, own_request_or_none(self._own_create_request), self._REQUEST_MODEL
        )
        shares = self.share_distribution
        if not isinstance(shares, list):
            return
        c.check(
            len(shares) <= MAX_SHARE_IDENTIFIERS,
            "share_distribution",
            f"<{len(shares)} share identifiers>",
            f"at most {MAX_SHARE_IDENTIFIERS} share identifiers (a job queue holds at most "
            f"{MAX_SHARE_IDENTIFIERS} active ones)",
        )
        seen: list[tuple[int, str]] = []
        for index, share in enumerate(shares):
            if not isinstance(share, ShareAttributes):
                continue
            path = f"share_distribution[{index}]"
            share.check_into(c.at(path), context)
            identifier = share.share_identifier
            if not isinstance(identifier, str) or not _SHARE_IDENTIFIER.fullmatch(identifier):
                continue
            for other_index, other in seen:
                if other == identifier:
                    c.fail(
                        f"{path}.share_identifier",
                        identifier,
                        f"is already listed at share_distribution[{other_index}]",
                    )
                elif _overlaps(identifier, other):
                    c.fail(
                        f"{path}.share_identifier",
                        identifier,
                        f"overlaps share_distribution[{other_index}] ({other!r}): share identifiers of a "
                        "policy must not overlap",
                    )
            seen.append((index, identifier))

    def _fairshare_request(self) -> dict[str, Any]:
        shares = self.share_distribution
        return drop_none(
            {
                "shareDecaySeconds": self.share_decay_seconds,
                "computeReservation": self.compute_reservation,
                "shareDistribution": None
                if shares is None
                else [s.to_request() for s in shares if isinstance(s, ShareAttributes)],
            }
        )

    def to_create_request(self) -> dict[str, Any]:
        """Return the keyword arguments of boto3's ``batch.create_scheduling_policy``.

        ``extra_request_fields`` are merged in; where one collides, the spec's value stays.
        """
        return with_extra_fields(self._own_create_request(), self.extra_request_fields, self._REQUEST_MODEL)

    def _own_create_request(self) -> dict[str, Any]:
        """Return the create request the spec's own fields make (without ``extra_request_fields``)."""
        return drop_none(
            {
                "name": self.name,
                "fairsharePolicy": self._fairshare_request(),
                "tags": None if self.tags is None else dict(self.tags),
            }
        )

    def to_request(self) -> dict[str, Any]:
        """Return the keyword arguments of boto3's ``batch.create_scheduling_policy``."""
        return self.to_create_request()

    def plan(self, current: Mapping[str, Any] | None) -> UpdatePlan:
        """Compare with a described scheduling policy and say how to make it match this spec.

        :param current: ``describe_scheduling_policies(arns=[...])["schedulingPolicies"][0]``, or
            None when the policy does not exist.

        UpdateSchedulingPolicy replaces the whole fair-share policy, so the update request carries
        the full policy: the spec's fields over the current ones.
        """
        if current is None or is_absent(current):
            return create_plan("scheduling policy", self.name, self.to_create_request())
        arn = current.get("arn")
        builder = PlanBuilder("scheduling policy", self.name, {"arn": arn})
        have: dict[str, Any] = dict(current.get("fairsharePolicy") or {})
        if current.get("quotaSharePolicy") and not current.get("fairsharePolicy"):
            builder.differ("policy kind", "quota share", "fair share")
            builder.replace(
                "share_distribution",
                "AWS can't turn a quota share scheduling policy into a fair-share one",
            )
        changed = False
        for field, key in (
            ("share_decay_seconds", "shareDecaySeconds"),
            ("compute_reservation", "computeReservation"),
        ):
            desired = getattr(self, field)
            if desired is not None and desired != (have.get(key) or 0):
                builder.differ(field, have.get(key), desired)
                changed = True
        if self.share_distribution is not None:
            desired_shares = _distribution_key(self.share_distribution)
            current_shares = _distribution_key(have.get("shareDistribution"))
            if not _same_distribution(desired_shares, current_shares):
                builder.differ("share_distribution", current_shares, desired_shares)
                changed = True
        plan_extra_fields(
            builder,
            self.extra_request_fields,
            current,
            model=self._REQUEST_MODEL,
            update_operation="UpdateSchedulingPolicy",
            detail_shape="SchedulingPolicyDetail",
        )
        if changed or "fairsharePolicy" in builder.update:
            # UpdateSchedulingPolicy replaces the whole policy: send all of it, extras included.
            desired = self.to_create_request().get("fairsharePolicy") or {}
            builder.set("fairsharePolicy", {**drop_none(have), **desired})
        return builder.build(resource_arn=arn, desired_tags=self.tags, current_tags=current.get("tags"))

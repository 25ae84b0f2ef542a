"""Fair-share scheduling policies with AWS Batch's validation.

AWS Batch limits the name (up to 128 letters, numbers,
hyphens and underscores), ``shareDecaySeconds`` (0..604,800), ``computeReservation`` (0..99),
each share's ``weightFactor`` (0.0001..999.9999), refuses overlapping share identifiers
(``UserA*`` with ``UserA-1``), and refuses to delete a policy a job queue still uses.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_batch_local.arns import scheduling_policy_arn
from aws_batch_local.lifecycle import (
    DELETED,
    FOUND_JOB_QUEUE_RELATIONSHIP,
    OBJECT_ALREADY_EXISTS,
    client_error,
    does_not_exist,
)

if TYPE_CHECKING:
    from aws_batch_local.region import BatchRegion

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
SHARE_PATTERN = re.compile(r"^[A-Za-z0-9]{1,255}\*?$")
MAX_SHARE_DECAY_SECONDS = 604_800
MAX_COMPUTE_RESERVATION = 99
MIN_WEIGHT, MAX_WEIGHT = 0.0001, 999.9999
MAX_SHARES = 500
DEFAULT_WEIGHT = 1.0


@dataclass(eq=False)
class SchedulingPolicy:
    """A fair-share scheduling policy: name, ARN and its (normalized) FairsharePolicy."""

    name: str
    arn: str
    fairshare_policy: dict[str, Any]

    def describe(self, tags: dict[str, str]) -> dict[str, Any]:
        """Return the SchedulingPolicyDetail shape."""
        return {
            "name": self.name,
            "arn": self.arn,
            "fairsharePolicy": copy.deepcopy(self.fairshare_policy),
            "tags": tags,
        }


def _overlaps(first: str, second: str) -> bool:
    def covers(pattern: str, other: str) -> bool:
        return pattern.endswith("*") and other.rstrip("*").startswith(pattern[:-1])

    return first == second or covers(first, second) or covers(second, first)


def normalize_fairshare_policy(policy: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a FairsharePolicy and return it with AWS's defaults filled in."""
    policy = dict(policy or {})
    decay = int(policy.get("shareDecaySeconds") or 0)
    if not 0 <= decay <= MAX_SHARE_DECAY_SECONDS:
        raise client_error(f"shareDecaySeconds must be between 0 and {MAX_SHARE_DECAY_SECONDS}, got {decay}")
    reservation = int(policy.get("computeReservation") or 0)
    if not 0 <= reservation <= MAX_COMPUTE_RESERVATION:
        raise client_error(
            f"computeReservation must be between 0 and {MAX_COMPUTE_RESERVATION}, got {reservation}"
        )
    shares: list[dict[str, Any]] = []
    for entry in policy.get("shareDistribution") or []:
        identifier = str(entry.get("shareIdentifier") or "")
        if SHARE_PATTERN.match(identifier) is None:
            raise client_error(
                f"shareIdentifier {identifier!r} must be up to 255 letters and numbers, optionally "
                "followed by an asterisk (*)"
            )
        for other in shares:
            if _overlaps(identifier, other["shareIdentifier"]):
                raise client_error(
                    f"shareIdentifier {identifier} overlaps {other['shareIdentifier']}: the share "
                    "identifiers of a fair-share policy can't overlap"
                )
        share: dict[str, Any] = {"shareIdentifier": identifier}
        if entry.get("weightFactor") is not None:
            weight = float(entry["weightFactor"])
            if not MIN_WEIGHT <= weight <= MAX_WEIGHT:
                raise client_error(
                    f"weightFactor of {identifier} must be between {MIN_WEIGHT} and {MAX_WEIGHT}, "
                    f"got {weight}"
                )
            share["weightFactor"] = weight
        shares.append(share)
    if len(shares) > MAX_SHARES:
        raise client_error(f"A fair-share policy can have at most {MAX_SHARES} share identifiers")
    return {"shareDecaySeconds": decay, "computeReservation": reservation, "shareDistribution": shares}


def share_weight(fairshare_policy: dict[str, Any] | None, share: str) -> float:
    """Return the weightFactor a policy gives a share identifier (exact entry, else prefix, else 1.0)."""
    best: tuple[int, float] | None = None
    for entry in (fairshare_policy or {}).get("shareDistribution") or []:
        identifier = entry["shareIdentifier"]
        weight = float(entry.get("weightFactor") or DEFAULT_WEIGHT)
        if identifier == share:
            return weight
        if identifier.endswith("*") and share.startswith(identifier[:-1]):
            length = len(identifier)
            if best is None or length > best[0]:
                best = (length, weight)
    return best[1] if best is not None else DEFAULT_WEIGHT


def queues_using(region: BatchRegion, policy_arn: str) -> list[Any]:
    """Return the job queues (not yet DELETED) whose scheduling policy is ``policy_arn``."""
    return [
        queue
        for queue in region.job_queues.values()
        if getattr(queue, "schedule_policy", None) == policy_arn and getattr(queue, "status", "") != DELETED
    ]


def create_scheduling_policy(
    region: BatchRegion, name: str, fairshare_policy: dict[str, Any], tags: dict[str, str] | None
) -> SchedulingPolicy:
    """CreateSchedulingPolicy: validate name and policy, refuse a duplicate name."""
    if not name or NAME_PATTERN.match(name) is None:
        raise client_error(
            f"Scheduling policy name {name!r} must be 1 to 128 letters, numbers, hyphens and underscores"
        )
    if any(policy.name == name for policy in region.scheduling_policies.values()):
        raise client_error(OBJECT_ALREADY_EXISTS)
    policy = SchedulingPolicy(
        name,
        scheduling_policy_arn(region.account_id, region.region_name, name),
        normalize_fairshare_policy(fairshare_policy),
    )
    if tags:
        region.tag_resource(policy.arn, dict(tags))
    region.scheduling_policies[policy.arn] = policy
    return policy


def update_scheduling_policy(region: BatchRegion, arn: str, fairshare_policy: dict[str, Any]) -> None:
    """UpdateSchedulingPolicy: replace the fair-share policy of an existing policy."""
    policy = region.scheduling_policies.get(arn or "")
    if policy is None:
        raise does_not_exist(arn)
    policy.fairshare_policy = normalize_fairshare_policy(fairshare_policy)


def delete_scheduling_policy(region: BatchRegion, arn: str) -> None:
    """DeleteSchedulingPolicy: refused while a job queue uses the policy."""
    if arn not in region.scheduling_policies:
        raise does_not_exist(arn)
    if queues_using(region, arn):
        raise client_error(FOUND_JOB_QUEUE_RELATIONSHIP)
    del region.scheduling_policies[arn]
    region.tags.forget(arn)

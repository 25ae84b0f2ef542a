"""A fair-share scheduling policy as its page shows it, read from DescribeSchedulingPolicies.

AWS Batch's SchedulingPolicyDetail: ``fairsharePolicy`` holds ``shareDecaySeconds`` (the window
over which AWS averages each share's use), ``computeReservation`` (a percentage of the maximum
vCPUs kept back for share identifiers with no jobs yet) and ``shareDistribution`` (each share
identifier, or a prefix ending in ``*``, with a ``weightFactor``: the lower it is, the larger the
share of compute it gets; 1.0 when unset). Pure: no AWS call here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: The weight AWS uses for a share identifier the policy gives none.
DEFAULT_WEIGHT = 1.0


@dataclass(frozen=True)
class Share:
    """One share identifier (or ``prefix*``) of a fair-share policy, with its weight factor.

    ``fraction``: the share of compute it gets when every listed share has jobs waiting (weights
    are inverse: a share's fraction is ``1/weight`` over the sum of ``1/weight``).
    """

    identifier: str
    weight_factor: float
    fraction: float


@dataclass(frozen=True)
class SchedulingPolicyPage:
    """What the scheduling policy page shows, and the queues that use the policy."""

    name: str
    arn: str
    share_decay_seconds: int | None
    compute_reservation: int | None
    shares: list[Share]
    tags: dict[str, str] = field(default_factory=dict)
    queues: list[str] = field(default_factory=list)


def scheduling_policy_page(
    policy: Mapping[str, Any], queues: Iterable[Mapping[str, Any]] = ()
) -> SchedulingPolicyPage:
    """Read a SchedulingPolicyDetail; ``queues`` (DescribeJobQueues) name the ones using it."""
    fairshare = policy.get("fairsharePolicy") or {}
    distribution = fairshare.get("shareDistribution") or []
    weights = [
        (str(item.get("shareIdentifier") or ""), float(item.get("weightFactor") or DEFAULT_WEIGHT))
        for item in distribution
    ]
    total = sum(1 / weight for _, weight in weights if weight > 0)
    arn = str(policy.get("arn") or "")
    return SchedulingPolicyPage(
        name=str(policy.get("name") or ""),
        arn=arn,
        share_decay_seconds=_int(fairshare.get("shareDecaySeconds")),
        compute_reservation=_int(fairshare.get("computeReservation")),
        shares=[
            Share(identifier, weight, (1 / weight) / total if total and weight > 0 else 0.0)
            for identifier, weight in weights
        ],
        tags={str(key): str(value) for key, value in (policy.get("tags") or {}).items()},
        queues=sorted(
            str(queue["jobQueueName"])
            for queue in queues
            if queue.get("schedulingPolicyArn") == arn and queue.get("status") != "DELETED"
        ),
    )


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None

"""Job queues with AWS Batch's lifecycle, validation and DescribeJobQueues shape.

A queue is CREATING (or UPDATING) until its compute environments have settled, then VALID, or
INVALID when every one of them is INVALID. It lists up to three compute environments of one kind
(EC2 and SPOT, or FARGATE and FARGATE_SPOT; ECS or EKS). A fair-share scheduling policy can be
replaced but never added to a queue created without one, nor removed. ``jobStateTimeLimitActions``
cancel jobs blocked in RUNNABLE with the named statusReason for longer than ``maxTimeSeconds``
(AWS's minimum is 600 seconds; the emulator's is its ``min_time_limit_seconds`` setting).
DeleteJobQueue wants a DISABLED queue and terminates the jobs still in it.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

from aws_batch_local.arns import job_queue_arn
from aws_batch_local.compute_environments import EKS
from aws_batch_local.compute_environments import find as find_compute_environment
from aws_batch_local.lifecycle import (
    BEING_MODIFIED,
    BEING_MODIFIED_DELETE,
    BEING_MODIFIED_UPDATE,
    CREATING,
    DELETED,
    ENABLED,
    GONE,
    INVALID,
    OBJECT_ALREADY_EXISTS,
    STATES,
    UPDATING,
    VALID,
    Lifecycle,
    client_error,
    does_not_exist,
    wanted,
)
from aws_batch_local.settings import MAX_TIME_LIMIT_SECONDS

if TYPE_CHECKING:
    from aws_batch_local.region import BatchRegion
    from aws_batch_local.scheduler import Scheduler

HEALTHY = "JobQueue Healthy"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
MAX_COMPUTE_ENVIRONMENTS = 3
TIME_LIMIT_STATES = ("RUNNABLE",)
TIME_LIMIT_ACTIONS = ("CANCEL",)
MIXED_KINDS = (
    "All of the compute environments must be either EC2 (EC2 or SPOT) or Fargate (FARGATE or FARGATE_SPOT). "
    "EC2 and Fargate compute environments can't be mixed."
)


class JobQueue(Lifecycle):
    """A job queue: state, priority, compute environments in order, policy, status, time-limit actions."""

    def __init__(
        self,
        region: BatchRegion,
        name: str,
        priority: int,
        state: str,
        environments: list[Any],
        order: list[dict[str, Any]],
        policy_arn: str | None,
        time_limit_actions: list[dict[str, Any]],
    ) -> None:
        self.init_lifecycle(CREATING)
        self.region = region
        self.name = name
        self.arn = job_queue_arn(region.account_id, region.region_name, name)
        self.priority = priority
        self.state = state
        self.environments = environments
        self.env_order_json = order
        self.schedule_policy = policy_arn
        self.job_state_time_limit_actions = time_limit_actions
        self.awaiting_settle = False

    @property
    def job_queue_type(self) -> str:
        """Return EKS, ECS_FARGATE or ECS, from the queue's compute environments."""
        first = self.environments[0] if self.environments else None
        if first is not None and getattr(first, "orchestration", None) == EKS:
            return "EKS"
        if first is not None and getattr(first, "is_fargate", False):
            return "ECS_FARGATE"
        return "ECS"

    def describe(self) -> dict[str, Any]:
        """Return the JobQueueDetail shape."""
        detail: dict[str, Any] = {
            "jobQueueName": self.name,
            "jobQueueArn": self.arn,
            "state": self.state,
            "status": self.status,
            "priority": self.priority,
            "computeEnvironmentOrder": copy.deepcopy(self.env_order_json),
            "jobStateTimeLimitActions": copy.deepcopy(self.job_state_time_limit_actions),
            "tags": self.region.list_tags_for_resource(self.arn),
            "jobQueueType": self.job_queue_type,
        }
        if self.status_reason:
            detail["statusReason"] = self.status_reason
        if self.schedule_policy:
            detail["schedulingPolicyArn"] = self.schedule_policy
        return detail


# ------------------------------------------------------------------------------ look-ups


def arn_of(region: BatchRegion, identifier: str) -> str:
    """Return the ARN ``identifier`` (a name or an ARN) designates."""
    if identifier.startswith("arn:"):
        return identifier
    return job_queue_arn(region.account_id, region.region_name, identifier)


def find_existing(region: BatchRegion, identifier: str) -> Any:
    """Return the job queue, or raise "<arn> does not exist" when it is absent, DELETING or DELETED."""
    queue = region.get_job_queue(identifier or "")
    if queue is None or getattr(queue, "status", "") in GONE:
        raise does_not_exist(arn_of(region, identifier or ""))
    return queue


# ------------------------------------------------------------------------------ validation


def _priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise client_error(f"priority must be a non-negative integer, got {value!r}")
    return value


def _resolve_order(region: BatchRegion, order: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """Return the compute environments in order and computeEnvironmentOrder with ARNs."""
    if not isinstance(order, list) or not order:
        raise client_error("At least 1 compute environment must be provided")
    if len(order) > MAX_COMPUTE_ENVIRONMENTS:
        raise client_error(
            f"A job queue can have at most {MAX_COMPUTE_ENVIRONMENTS} compute environments, got {len(order)}"
        )
    entries = []
    for item in order:
        identifier, position = item.get("computeEnvironment"), item.get("order")
        if not identifier or isinstance(position, bool) or not isinstance(position, int):
            raise client_error(
                "computeEnvironmentOrder entries need an integer order and a computeEnvironment"
            )
        environment = find_compute_environment(region, str(identifier))
        if environment is None or getattr(environment, "status", "") in GONE:
            raise client_error(f"Compute environment {identifier} does not exist")
        entries.append((position, environment))
    if len({position for position, _ in entries}) != len(entries):
        raise client_error("The order of each compute environment in computeEnvironmentOrder must be unique")
    if len({id(environment) for _, environment in entries}) != len(entries):
        raise client_error("A compute environment can be listed only once in computeEnvironmentOrder")
    entries.sort(key=lambda entry: entry[0])
    environments = [environment for _, environment in entries]
    if len({bool(getattr(env, "is_fargate", False)) for env in environments}) > 1:
        raise client_error(MIXED_KINDS)
    if len({getattr(env, "orchestration", "ECS") for env in environments}) > 1:
        raise client_error(
            "Compute environments that use Amazon EKS and Amazon ECS can't be mixed in a job queue"
        )
    return environments, [{"order": position, "computeEnvironment": env.arn} for position, env in entries]


def _time_limit_actions(actions: Any, minimum: int) -> list[dict[str, Any]]:
    if actions is None:
        return []
    if not isinstance(actions, list):
        raise client_error("jobStateTimeLimitActions must be a list")
    normalized = []
    for action in actions:
        seconds = action.get("maxTimeSeconds")
        if action.get("state") not in TIME_LIMIT_STATES:
            raise client_error(f"jobStateTimeLimitActions state must be RUNNABLE, got {action.get('state')}")
        if action.get("action") not in TIME_LIMIT_ACTIONS:
            raise client_error(
                "jobStateTimeLimitActions action must be CANCEL for this job queue, "
                f"got {action.get('action')}"
            )
        if not action.get("reason"):
            raise client_error("jobStateTimeLimitActions reason is required")
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int)
            or not minimum <= seconds <= MAX_TIME_LIMIT_SECONDS
        ):
            raise client_error(
                f"jobStateTimeLimitActions maxTimeSeconds must be between {minimum} and "
                f"{MAX_TIME_LIMIT_SECONDS}, got {seconds!r}"
            )
        normalized.append(
            {
                "reason": str(action["reason"]),
                "state": action["state"],
                "maxTimeSeconds": seconds,
                "action": action["action"],
            }
        )
    return normalized


def _check_policy(region: BatchRegion, arn: str) -> str:
    if arn not in region.scheduling_policies:
        raise client_error(f"Scheduling policy {arn} does not exist")
    return arn


# ------------------------------------------------------------------------------- lifecycle


def _problem(queue: JobQueue) -> str | None:
    statuses = [getattr(env, "status", VALID) for env in queue.environments]
    if statuses and all(status == INVALID for status in statuses):
        names = ", ".join(env.name for env in queue.environments)
        return f"CLIENT_ERROR - All compute environments of the job queue are INVALID: {names}"
    return None


def _try_settle(queue: JobQueue) -> None:
    if queue.status in GONE:
        return
    if queue.awaiting_settle:
        if any(getattr(env, "status", VALID) == CREATING for env in queue.environments):
            return
        queue.awaiting_settle = False
        queue.settle(_problem(queue), HEALTHY)
    elif queue.status in (VALID, INVALID):
        queue.settle(_problem(queue), HEALTHY)


def refresh_queues(region: BatchRegion, scheduler: Scheduler, environment: Any) -> None:
    """Re-evaluate the status of the queues that use ``environment`` (it just settled)."""
    for queue in list(region.job_queues.values()):
        if isinstance(queue, JobQueue) and any(env is environment for env in queue.environments):
            _try_settle(queue)


def _finish(scheduler: Scheduler, queue: JobQueue) -> None:
    queue.awaiting_settle = True
    _try_settle(queue)
    scheduler.retry_placement()
    scheduler.arm_time_limits(queue)


def create(region: BatchRegion, scheduler: Scheduler, request: dict[str, Any]) -> JobQueue:
    """CreateJobQueue: validate, store as CREATING, settle once its compute environments have."""
    name = str(request.get("jobQueueName") or "")
    if NAME_PATTERN.match(name) is None:
        raise client_error(
            f"Job queue name {name!r} must be 1 to 128 letters, numbers, hyphens and underscores, "
            "starting with a letter or number"
        )
    existing = region.get_job_queue(name)
    if existing is not None and getattr(existing, "status", "") != DELETED:
        raise client_error(OBJECT_ALREADY_EXISTS)
    state = request.get("state") or ENABLED
    if state not in STATES:
        raise client_error(f"state must be one of ENABLED | DISABLED, got {state}")
    if request.get("priority") is None:
        raise client_error("priority must be provided")
    priority = _priority(request["priority"])
    environments, order = _resolve_order(region, request.get("computeEnvironmentOrder"))
    policy = (
        _check_policy(region, request["schedulingPolicyArn"]) if request.get("schedulingPolicyArn") else None
    )
    actions = _time_limit_actions(
        request.get("jobStateTimeLimitActions"), region.settings.min_time_limit_seconds
    )
    queue = JobQueue(region, name, priority, state, environments, order, policy, actions)
    if request.get("tags"):
        region.tag_resource(queue.arn, dict(request["tags"]))
    region.job_queues.pop(queue.arn, None)
    region.job_queues[queue.arn] = queue
    queue.begin(CREATING, scheduler, lambda: _finish(scheduler, queue))
    return queue


def describe(region: BatchRegion, identifiers: list[str] | None) -> list[dict[str, Any]]:
    """Return the JobQueueDetail of every queue ``identifiers`` selects (all if empty)."""
    return [
        queue.describe()
        for queue in list(region.job_queues.values())
        if isinstance(queue, JobQueue) and wanted(identifiers, queue.name, queue.arn)
    ]


def update(region: BatchRegion, scheduler: Scheduler, request: dict[str, Any]) -> JobQueue:
    """UpdateJobQueue: state, priority, computeEnvironmentOrder, schedulingPolicyArn, time-limit actions."""
    queue = find_existing(region, str(request.get("jobQueue") or ""))
    if queue.status in BEING_MODIFIED:
        raise client_error(BEING_MODIFIED_UPDATE)
    state = request.get("state")
    if state is not None and state not in STATES:
        raise client_error(f"state must be one of ENABLED | DISABLED, got {state}")
    priority = _priority(request["priority"]) if request.get("priority") is not None else None
    resolved = (
        _resolve_order(region, request["computeEnvironmentOrder"])
        if request.get("computeEnvironmentOrder") is not None
        else None
    )
    policy = request.get("schedulingPolicyArn")
    if policy is not None:
        if not policy and queue.schedule_policy:
            raise client_error(
                "The fair-share scheduling policy of a job queue can be replaced but can't be removed"
            )
        if policy and not queue.schedule_policy:
            raise client_error(
                "A job queue created without a fair-share scheduling policy is a FIFO job queue and can't "
                "have a fair-share scheduling policy added"
            )
        if policy:
            _check_policy(region, policy)
    actions = (
        _time_limit_actions(request["jobStateTimeLimitActions"], region.settings.min_time_limit_seconds)
        if request.get("jobStateTimeLimitActions") is not None
        else None
    )
    if state is not None:
        queue.state = state
    if priority is not None:
        queue.priority = priority
    if resolved is not None:
        queue.environments, queue.env_order_json = resolved
    if policy:
        queue.schedule_policy = policy
    if actions is not None:
        queue.job_state_time_limit_actions = actions
    queue.begin(UPDATING, scheduler, lambda: _finish(scheduler, queue))
    return queue


def delete(region: BatchRegion, scheduler: Scheduler, identifier: str) -> None:
    """DeleteJobQueue: a DISABLED queue goes DELETING (its jobs are terminated), DELETED, then away."""
    if not identifier:
        raise client_error("jobQueue is required")
    queue: JobQueue = find_existing(region, identifier)
    if queue.status in BEING_MODIFIED:
        raise client_error(BEING_MODIFIED_DELETE)
    if queue.state == ENABLED:
        raise client_error(
            f"Cannot delete, job queue {queue.name} is ENABLED; update its state to DISABLED first"
        )

    queue.retire(scheduler, region.job_queues, queue.arn)
    scheduler.terminate_queue(queue, f"Job queue {queue.name} was deleted")

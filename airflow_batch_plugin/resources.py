"""Ensure and tear down AWS Batch infrastructure: the logic behind the ensure/delete operators.

One :class:`ResourceKind` per resource type says how to describe, create, update and delete it;
:func:`ensure_resource` and :func:`delete_resource` carry out a spec's plan and wait (through
:func:`airflow_batch_plugin.poller.wait_for_state`) until AWS reports the result usable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from airflow.providers.common.compat.sdk import AirflowException

from airflow_batch_plugin.hooks.retry import AmbiguousWriteError
from airflow_batch_plugin.poller import wait_for_state

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
    from airflow_batch_plugin.specs.update_plan import UpdatePlan

Description = dict[str, Any]
#: What to do with a queue's unfinished jobs when it is deleted.
ActiveJobsPolicy = Literal["refuse", "cancel", "terminate"]
TRANSITIONAL_STATUSES = frozenset({"CREATING", "UPDATING", "DELETING"})


class BatchResourceInvalid(AirflowException):
    """AWS reports the resource INVALID; the message carries its statusReason."""


class BatchResourceInUse(AirflowException):
    """The resource cannot be deleted yet: something still uses it (named in the message)."""


@dataclass(frozen=True)
class ResourceKind:
    """How to handle one AWS Batch resource type through the hook."""

    label: str
    arn_key: str
    has_status: bool
    describe: Callable[[BatchResourceHook, str], Description | None]
    create: Callable[[BatchResourceHook, dict[str, Any]], str]
    update: Callable[[BatchResourceHook, dict[str, Any]], None]
    delete: Callable[[BatchResourceHook, Description], None]
    users: Callable[[BatchResourceHook, Description], list[str]]
    plan: Callable[[BatchResourceHook, Any, Description | None], UpdatePlan] = lambda hook, spec, current: (
        spec.plan(current)
    )


def _plan_job_queue(hook: BatchResourceHook, spec: Any, current: Description | None) -> UpdatePlan:
    """Plan a queue knowing its compute environments: their kinds, and ARNs for a policy name."""
    described = [
        found
        for entry in spec.compute_environment_order
        if (found := hook.describe_compute_environment(entry.compute_environment_name)) is not None
    ]
    return spec.plan(current, compute_environments=described)


COMPUTE_ENVIRONMENT = ResourceKind(
    label="compute environment",
    arn_key="computeEnvironmentArn",
    has_status=True,
    describe=lambda hook, name: hook.describe_compute_environment(name),
    create=lambda hook, request: hook.create_compute_environment(request),
    update=lambda hook, request: hook.update_compute_environment(request),
    delete=lambda hook, current: hook.delete_compute_environment(current["computeEnvironmentArn"]),
    users=lambda hook, current: hook.queues_using_compute_environment(current["computeEnvironmentArn"]),
)
JOB_QUEUE = ResourceKind(
    label="job queue",
    arn_key="jobQueueArn",
    has_status=True,
    describe=lambda hook, name: hook.describe_job_queue(name),
    create=lambda hook, request: hook.create_job_queue(request),
    update=lambda hook, request: hook.update_job_queue(request),
    delete=lambda hook, current: hook.delete_job_queue(current["jobQueueArn"]),
    users=lambda hook, current: [],
    plan=_plan_job_queue,
)
SCHEDULING_POLICY = ResourceKind(
    label="scheduling policy",
    arn_key="arn",
    has_status=False,
    describe=lambda hook, name: hook.describe_scheduling_policy(name),
    create=lambda hook, request: hook.create_scheduling_policy(request),
    update=lambda hook, request: hook.update_scheduling_policy(request),
    delete=lambda hook, current: hook.delete_scheduling_policy(current["arn"]),
    users=lambda hook, current: hook.queues_using_scheduling_policy(current["arn"]),
)


@dataclass(frozen=True)
class Waiting:
    """How to wait for AWS: whether to wait for VALID, seconds between Describe calls, at most how long.

    Deletion always waits until the resource is gone (the next step depends on it). With
    ``defer`` (a deferrable operator's hook), a resource not VALID yet is waited for elsewhere:
    ``defer(name)`` raises Airflow's TaskDeferred, and the operator runs the ensure again when it
    resumes (ensuring is idempotent, so it picks up where it left off).
    """

    for_valid: bool = True
    interval: float = 10.0
    timeout: float = 1800.0
    defer: Callable[[str], None] | None = None


def is_gone(current: Description | None) -> bool:
    return current is None or current.get("status") == "DELETED"


def ensure_resource(
    hook: BatchResourceHook, kind: ResourceKind, spec: Any, waiting: Waiting, log: logging.Logger | Any
) -> str:
    """Bring the resource to ``spec`` (create, update in place, or nothing); return its ARN.

    A difference AWS can only apply by replacing the resource raises before any write. With a
    status (compute environments, queues), it waits until VALID and fails on INVALID.
    """
    writes_before = sum(hook.write_calls.values())
    arn = _carry_out(hook, kind, spec, waiting, log)
    log.info(
        "%s %s: %d AWS write call(s)", kind.label, spec.name, sum(hook.write_calls.values()) - writes_before
    )
    return arn


def _carry_out(
    hook: BatchResourceHook, kind: ResourceKind, spec: Any, waiting: Waiting, log: logging.Logger | Any
) -> str:
    current = _settled(hook, kind, spec.name, waiting)
    plan = kind.plan(hook, spec, None if is_gone(current) else current)
    log.info("%s", plan.summary())
    plan.raise_if_replacement_required()
    if plan.action == "create":
        arn = _create(hook, kind, spec.name, plan)
        _wait_valid(hook, kind, spec.name, waiting, log)
        if plan.update_request:  # what Create cannot set: sent once the resource is VALID
            kind.update(hook, plan.update_request)
            _wait_valid(hook, kind, spec.name, waiting, log)
        return arn
    assert current is not None
    arn = str(current[kind.arn_key])
    if plan.action == "update":
        if plan.update_request:
            kind.update(hook, plan.update_request)
        if plan.tag_keys_to_remove:
            hook.untag_resource(arn, plan.tag_keys_to_remove)
        if plan.tags_to_add:
            hook.tag_resource(arn, plan.tags_to_add)
    _wait_valid(hook, kind, spec.name, waiting, log)
    return arn


def delete_resource(
    hook: BatchResourceHook,
    kind: ResourceKind,
    name: str,
    waiting: Waiting,
    log: logging.Logger | Any,
    active_jobs: ActiveJobsPolicy = "refuse",
) -> bool:
    """Disable, wait, delete and wait until gone; return False when it was already gone."""
    current = _settled(hook, kind, name, waiting)
    if is_gone(current):
        log.info("%s %s does not exist: nothing to delete", kind.label, name)
        return False
    assert current is not None
    users = kind.users(hook, current)
    if users:
        raise BatchResourceInUse(
            f"{kind.label} {name} is still used by job queue(s) {', '.join(sorted(users))}: "
            "delete those first (a BatchEnvironment's teardown does it in this order)"
        )
    if kind is JOB_QUEUE:
        _clear_queue(hook, name, active_jobs, log)
    if kind.has_status and current.get("state") == "ENABLED":
        log.info("Disabling %s %s", kind.label, name)
        kind.update(hook, _disable_request(kind, current))
        _wait_valid(hook, kind, name, waiting, log)
    log.info("Deleting %s %s", kind.label, name)
    kind.delete(hook, current)
    wait_for_state(
        lambda: kind.describe(hook, name), is_gone, interval=waiting.interval, timeout=waiting.timeout
    )
    log.info("%s %s deleted", kind.label, name)
    return True


def _settled(hook: BatchResourceHook, kind: ResourceKind, name: str, waiting: Waiting) -> Description | None:
    """Describe the resource once it is not CREATING/UPDATING/DELETING (AWS refuses changes then)."""
    return wait_for_state(
        lambda: kind.describe(hook, name),
        lambda current: current is None or current.get("status") not in TRANSITIONAL_STATUSES,
        interval=waiting.interval,
        timeout=waiting.timeout,
    )


def _create(hook: BatchResourceHook, kind: ResourceKind, name: str, plan: UpdatePlan) -> str:
    assert plan.create_request is not None
    try:
        return kind.create(hook, plan.create_request)
    except AmbiguousWriteError:
        current = kind.describe(hook, name)  # the create may have landed: look before writing again
        if current is not None and not is_gone(current):
            return str(current[kind.arn_key])
        return kind.create(hook, plan.create_request)


def _wait_valid(
    hook: BatchResourceHook, kind: ResourceKind, name: str, waiting: Waiting, log: logging.Logger | Any
) -> None:
    if not kind.has_status or not waiting.for_valid:
        return

    def check(current: Description | None) -> None:
        if current is None:
            raise AirflowException(f"{kind.label} {name} disappeared while waiting for it")
        if current.get("status") == "INVALID":
            raise BatchResourceInvalid(f"{kind.label} {name} is INVALID: {current.get('statusReason')}")

    if waiting.defer is not None:
        current = kind.describe(hook, name)
        check(current)
        if current is not None and current.get("status") == "VALID":
            log.info("%s %s is VALID (%s)", kind.label, name, current.get("state"))
            return
        waiting.defer(name)  # raises TaskDeferred; waits here only if it returned
    final = wait_for_state(
        lambda: kind.describe(hook, name),
        lambda current: current is not None and current.get("status") == "VALID",
        interval=waiting.interval,
        timeout=waiting.timeout,
        on_round=check,
    )
    assert final is not None
    log.info("%s %s is VALID (%s)", kind.label, name, final.get("state"))


def _disable_request(kind: ResourceKind, current: Description) -> dict[str, Any]:
    key = "computeEnvironment" if kind is COMPUTE_ENVIRONMENT else "jobQueue"
    return {key: current[kind.arn_key], "state": "DISABLED"}


def _clear_queue(
    hook: BatchResourceHook, name: str, policy: ActiveJobsPolicy, log: logging.Logger | Any
) -> None:
    """Refuse to delete a queue with unfinished jobs, or cancel/terminate them first."""
    jobs = hook.active_jobs(name)
    if not jobs:
        return
    if policy == "refuse":
        examples = ", ".join(f"{job['jobName']} ({job['jobId']}, {job['status']})" for job in jobs[:5])
        raise BatchResourceInUse(
            f"job queue {name} still has {len(jobs)}{'+' if len(jobs) >= 1000 else ''} unfinished job(s), "
            f"e.g. {examples}; pass active_jobs='terminate' (or 'cancel') to stop them first"
        )
    reason = f"Job queue {name} is being deleted"
    for job in jobs:
        if policy == "terminate":
            hook.terminate_job(job["jobId"], reason)
        else:
            hook.cancel_job(job["jobId"], reason)
    log.info("%s %d unfinished job(s) of job queue %s", policy.capitalize() + "d", len(jobs), name)

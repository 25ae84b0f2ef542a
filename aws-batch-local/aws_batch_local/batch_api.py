"""The AWS Batch operations: each takes a region's state and the request, and returns the answer.

Every handler runs under the region scheduler's lock, the lock the timed transitions of jobs,
compute environments and job queues run under. ``HANDLERS`` maps botocore's operation names to
them; ``dispatch`` routes requests here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_batch_local import compute_environments, job_queues, scheduling_policies
from aws_batch_local.errors import ClientException
from aws_batch_local.lifecycle import page
from aws_batch_local.listing import list_jobs
from aws_batch_local.multinode import find_node
from aws_batch_local.submission import build_job

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_batch_local.region import BatchRegion

MAX_DESCRIBE_JOBS = 100


@dataclass
class BatchRequest:
    """A request's JSON body, its URI labels (``resourceArn``) and its query parameters."""

    body: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    query: dict[str, list[str]] = field(default_factory=dict)


def _required(request: BatchRequest, member: str) -> str:
    value = request.body.get(member)
    if not value:
        raise ClientException(f"'{member}' is a required field (cannot be an empty string)")
    return str(value)


def _paged(key: str, items: list[Any], body: dict[str, Any]) -> dict[str, Any]:
    chunk, token = page(items, body)
    answer: dict[str, Any] = {key: chunk}
    if token:
        answer["nextToken"] = token
    return answer


# ------------------------------------------------------------------------------------ jobs


def submit_job(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """SubmitJob: validate, store in SUBMITTED and schedule."""
    scheduler = region.scheduler
    job = build_job(region, scheduler.store, request.body)
    scheduler.submit(job)
    return {"jobArn": job.arn, "jobName": job.name, "jobId": job.job_id}


def describe_jobs(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DescribeJobs: the JobDetail of each known id or ARN (multi-node nodes too, ``<jobId>#<N>``)."""
    identifiers = request.body.get("jobs") or []
    if len(identifiers) > MAX_DESCRIBE_JOBS:
        raise ClientException(
            f"DescribeJobs accepts at most {MAX_DESCRIBE_JOBS} jobs, got {len(identifiers)}"
        )
    store = region.scheduler.store
    details = []
    for identifier in identifiers:
        job = store.get(identifier)
        if job is not None:
            details.append(job.describe(region.list_tags_for_resource(job.arn)))
            continue
        node = find_node(store, identifier)
        if node is not None:
            details.append(node.describe(region.list_tags_for_resource(node.parent.arn)))
    return {"jobs": details}


def list_jobs_page(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """ListJobs: one page."""
    return list_jobs(region.scheduler.store, region, request.body)


def terminate_job(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """TerminateJob: stop a job in any status (its children too, for an array parent)."""
    job_id, reason = _required(request, "jobId"), _required(request, "reason")
    scheduler = region.scheduler
    job = scheduler.store.get(job_id)
    if job is not None:
        scheduler.terminate(job, reason)
    return {}


def cancel_job(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """CancelJob: cancel a job that has not reached STARTING; others are left to TerminateJob."""
    job_id, reason = _required(request, "jobId"), _required(request, "reason")
    scheduler = region.scheduler
    job = scheduler.store.get(job_id)
    if job is not None:
        scheduler.cancel(job, reason)
    return {}


# ------------------------------------------------------------------------- job definitions


def register_job_definition(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """RegisterJobDefinition: the next revision of the name."""
    definition = region.job_definitions.register(request.body)
    return {
        "jobDefinitionName": definition.name,
        "jobDefinitionArn": definition.arn,
        "revision": definition.revision,
    }


def describe_job_definitions(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DescribeJobDefinitions: filtered, a page at a time."""
    return region.job_definitions.describe(request.body)


def deregister_job_definition(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DeregisterJobDefinition: the revision becomes INACTIVE."""
    region.job_definitions.deregister(str(request.body.get("jobDefinition") or ""))
    return {}


# -------------------------------------------------------------------- compute environments


def create_compute_environment(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """CreateComputeEnvironment."""
    environment = compute_environments.create(region, region.scheduler, request.body)
    return {"computeEnvironmentName": environment.name, "computeEnvironmentArn": environment.arn}


def describe_compute_environments(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DescribeComputeEnvironments (maxResults/nextToken paging)."""
    details = compute_environments.describe(region, request.body.get("computeEnvironments"))
    return _paged("computeEnvironments", details, request.body)


def update_compute_environment(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """UpdateComputeEnvironment."""
    environment = compute_environments.update(region, region.scheduler, request.body)
    return {"computeEnvironmentName": environment.name, "computeEnvironmentArn": environment.arn}


def delete_compute_environment(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DeleteComputeEnvironment."""
    compute_environments.delete(region, region.scheduler, str(request.body.get("computeEnvironment") or ""))
    return {}


# ------------------------------------------------------------------------------ job queues


def create_job_queue(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """CreateJobQueue."""
    queue = job_queues.create(region, region.scheduler, request.body)
    return {"jobQueueName": queue.name, "jobQueueArn": queue.arn}


def describe_job_queues(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DescribeJobQueues (maxResults/nextToken paging)."""
    return _paged("jobQueues", job_queues.describe(region, request.body.get("jobQueues")), request.body)


def update_job_queue(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """UpdateJobQueue."""
    queue = job_queues.update(region, region.scheduler, request.body)
    return {"jobQueueName": queue.name, "jobQueueArn": queue.arn}


def delete_job_queue(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DeleteJobQueue."""
    job_queues.delete(region, region.scheduler, str(request.body.get("jobQueue") or ""))
    return {}


def get_job_queue_snapshot(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """GetJobQueueSnapshot: the front of a queue in dispatch order, and its utilization."""
    queue = job_queues.find_existing(region, _required(request, "jobQueue"))
    return region.scheduler.front_of_queue(queue)


# --------------------------------------------------------------------- scheduling policies


def create_scheduling_policy(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """CreateSchedulingPolicy."""
    body = request.body
    policy = scheduling_policies.create_scheduling_policy(
        region, str(body.get("name") or ""), body.get("fairsharePolicy") or {}, body.get("tags")
    )
    return {"name": policy.name, "arn": policy.arn}


def describe_scheduling_policies(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DescribeSchedulingPolicies: the named ARNs that exist."""
    arns = request.body.get("arns") or []
    found = [region.scheduling_policies[arn] for arn in arns if arn in region.scheduling_policies]
    return {
        "schedulingPolicies": [policy.describe(region.list_tags_for_resource(policy.arn)) for policy in found]
    }


def list_scheduling_policies(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """ListSchedulingPolicies (maxResults/nextToken paging)."""
    listed = [{"arn": arn} for arn in region.scheduling_policies]
    return _paged("schedulingPolicies", listed, request.body)


def update_scheduling_policy(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """UpdateSchedulingPolicy."""
    scheduling_policies.update_scheduling_policy(
        region, _required(request, "arn"), request.body.get("fairsharePolicy") or {}
    )
    return {}


def delete_scheduling_policy(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """DeleteSchedulingPolicy."""
    scheduling_policies.delete_scheduling_policy(region, _required(request, "arn"))
    return {}


# ------------------------------------------------------------------------------------ tags


def _tagged_resource(region: BatchRegion, request: BatchRequest) -> str:
    """Return the ``resourceArn`` label, refusing a resource this region doesn't have."""
    arn = request.labels.get("resourceArn", "")
    known = (
        arn in region.compute_environments
        or arn in region.job_queues
        or arn in region.scheduling_policies
        or region.job_definitions.get(arn) is not None
        or region.scheduler.store.get(arn) is not None
    )
    if not known:
        raise ClientException(f"Resource {arn} does not exist")
    return arn


def tag_resource(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """TagResource."""
    region.tag_resource(_tagged_resource(region, request), dict(request.body.get("tags") or {}))
    return {}


def untag_resource(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """UntagResource: ``tagKeys`` come in the query string."""
    region.tags.untag(_tagged_resource(region, request), request.query.get("tagKeys", []))
    return {}


def list_tags_for_resource(region: BatchRegion, request: BatchRequest) -> dict[str, Any]:
    """ListTagsForResource."""
    return {"tags": region.list_tags_for_resource(_tagged_resource(region, request))}


HANDLERS: dict[str, Callable[[BatchRegion, BatchRequest], dict[str, Any]]] = {
    "SubmitJob": submit_job,
    "DescribeJobs": describe_jobs,
    "ListJobs": list_jobs_page,
    "TerminateJob": terminate_job,
    "CancelJob": cancel_job,
    "RegisterJobDefinition": register_job_definition,
    "DescribeJobDefinitions": describe_job_definitions,
    "DeregisterJobDefinition": deregister_job_definition,
    "CreateComputeEnvironment": create_compute_environment,
    "DescribeComputeEnvironments": describe_compute_environments,
    "UpdateComputeEnvironment": update_compute_environment,
    "DeleteComputeEnvironment": delete_compute_environment,
    "CreateJobQueue": create_job_queue,
    "DescribeJobQueues": describe_job_queues,
    "UpdateJobQueue": update_job_queue,
    "DeleteJobQueue": delete_job_queue,
    "GetJobQueueSnapshot": get_job_queue_snapshot,
    "CreateSchedulingPolicy": create_scheduling_policy,
    "DescribeSchedulingPolicies": describe_scheduling_policies,
    "ListSchedulingPolicies": list_scheduling_policies,
    "UpdateSchedulingPolicy": update_scheduling_policy,
    "DeleteSchedulingPolicy": delete_scheduling_policy,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
}

"""Serve compute environments, job queues and scheduling policies from the emulator's own models.

``install_infrastructure()`` replaces moto's Batch backend methods and API handlers for
Create/Describe/Update/Delete of compute environments and job queues (moto drops half their
fields and settles them at once) and adds AWS's checks to its scheduling policy methods. Every
call runs under the backend scheduler's lock, the lock the timed transitions run under.
The backend methods keep moto's signatures, so moto's CloudFormation support uses them too.
GetJobQueueSnapshot, which moto lacks, is answered from the scheduler (``front_of_queue``).
"""

from __future__ import annotations

import json
from typing import Any

from moto.batch import urls as batch_urls
from moto.batch.models import BatchBackend
from moto.batch.responses import BatchResponse

from aws_batch_local import compute_environments, job_queues, scheduling_policies
from aws_batch_local.lifecycle import client_error, page
from aws_batch_local.scheduler import scheduler_for


def _body(response: BatchResponse) -> dict[str, Any]:
    raw = response.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return json.loads(raw) if raw else {}


# ------------------------------------------------------------------ backend methods (moto signatures)


def create_compute_environment(
    self: BatchBackend,
    compute_environment_name: str,
    _type: str,
    state: str,
    compute_resources: dict[str, Any],
    service_role: str,
    tags: dict[str, str] | None = None,
) -> Any:
    """Create a compute environment (moto's signature; the API handler passes every field)."""
    request = {
        "computeEnvironmentName": compute_environment_name,
        "type": _type,
        "state": state,
        "computeResources": compute_resources,
        "serviceRole": service_role,
        "tags": tags,
    }
    scheduler = scheduler_for(self)
    with scheduler.lock:
        return compute_environments.create(self, scheduler, request)


def describe_compute_environments(
    self: BatchBackend, environments: list[str] | None = None
) -> list[dict[str, Any]]:
    """Return ComputeEnvironmentDetail of the named environments (all when none are named)."""
    with scheduler_for(self).lock:
        return compute_environments.describe(self, environments)


def update_compute_environment(
    self: BatchBackend,
    compute_environment_name: str,
    state: str | None,
    compute_resources: Any | None,
    service_role: str | None,
) -> tuple[str, str]:
    """Update a compute environment (moto's signature); return (name, ARN)."""
    request = {
        "computeEnvironment": compute_environment_name,
        "state": state,
        "computeResources": compute_resources,
        "serviceRole": service_role,
    }
    scheduler = scheduler_for(self)
    with scheduler.lock:
        environment = compute_environments.update(self, scheduler, request)
        return environment.name, environment.arn


def delete_compute_environment(self: BatchBackend, compute_environment_name: str) -> None:
    """Start deleting a compute environment."""
    scheduler = scheduler_for(self)
    with scheduler.lock:
        compute_environments.delete(self, scheduler, compute_environment_name)


def create_job_queue(
    self: BatchBackend,
    queue_name: str,
    priority: str,
    schedule_policy: str | None,
    state: str,
    compute_env_order: list[dict[str, str]],
    tags: dict[str, str] | None = None,
) -> Any:
    """Create a job queue (moto's signature; the API handler passes every field)."""
    request = {
        "jobQueueName": queue_name,
        "priority": int(priority) if isinstance(priority, str) and priority.isdigit() else priority,
        "schedulingPolicyArn": schedule_policy,
        "state": state,
        "computeEnvironmentOrder": compute_env_order,
        "tags": tags,
    }
    scheduler = scheduler_for(self)
    with scheduler.lock:
        return job_queues.create(self, scheduler, request)


def describe_job_queues(self: BatchBackend, job_queues_: list[str] | None = None) -> list[dict[str, Any]]:
    """Return JobQueueDetail of the named queues (all when none are named)."""
    with scheduler_for(self).lock:
        return job_queues.describe(self, job_queues_)


def update_job_queue(
    self: BatchBackend,
    queue_name: str,
    priority: str | None,
    state: str | None,
    compute_env_order: list[dict[str, Any]] | None,
    schedule_policy: str | None,
) -> tuple[str, str]:
    """Update a job queue (moto's signature); return (name, ARN)."""
    request = {
        "jobQueue": queue_name,
        "priority": priority,
        "state": state,
        "computeEnvironmentOrder": compute_env_order,
        "schedulingPolicyArn": schedule_policy,
    }
    scheduler = scheduler_for(self)
    with scheduler.lock:
        queue = job_queues.update(self, scheduler, request)
        return queue.name, queue.arn


def delete_job_queue(self: BatchBackend, queue_name: str) -> None:
    """Start deleting a job queue (its unfinished jobs are terminated)."""
    scheduler = scheduler_for(self)
    with scheduler.lock:
        job_queues.delete(self, scheduler, queue_name)


def create_scheduling_policy(
    self: BatchBackend, name: str, fairshare_policy: dict[str, Any], tags: dict[str, str] | None
) -> Any:
    """Create a scheduling policy, with AWS's checks."""
    with scheduler_for(self).lock:
        return scheduling_policies.create_scheduling_policy(self, name, fairshare_policy, tags)


def update_scheduling_policy(self: BatchBackend, arn: str, fairshare_policy: dict[str, Any]) -> None:
    """Replace the fair-share policy of a scheduling policy."""
    with scheduler_for(self).lock:
        scheduling_policies.update_scheduling_policy(self, arn, fairshare_policy)


def delete_scheduling_policy(self: BatchBackend, arn: str) -> None:
    """Delete a scheduling policy no job queue uses."""
    with scheduler_for(self).lock:
        scheduling_policies.delete_scheduling_policy(self, arn)


# ---------------------------------------------------------------------------- API handlers


def _paged(key: str, details: list[dict[str, Any]], request: dict[str, Any]) -> str:
    chunk, token = page(details, request)
    answer: dict[str, Any] = {key: chunk}
    if token:
        answer["nextToken"] = token
    return json.dumps(answer)


def handle_create_compute_environment(self: BatchResponse) -> str:
    """Answer CreateComputeEnvironment."""
    backend, request = self.batch_backend, _body(self)
    scheduler = scheduler_for(backend)
    with scheduler.lock:
        environment = compute_environments.create(backend, scheduler, request)
        return json.dumps(
            {"computeEnvironmentName": environment.name, "computeEnvironmentArn": environment.arn}
        )


def handle_describe_compute_environments(self: BatchResponse) -> str:
    """Answer DescribeComputeEnvironments (with maxResults/nextToken paging)."""
    request = _body(self)
    details = self.batch_backend.describe_compute_environments(request.get("computeEnvironments"))
    return _paged("computeEnvironments", details, request)


def handle_update_compute_environment(self: BatchResponse) -> str:
    """Answer UpdateComputeEnvironment."""
    backend, request = self.batch_backend, _body(self)
    scheduler = scheduler_for(backend)
    with scheduler.lock:
        environment = compute_environments.update(backend, scheduler, request)
        return json.dumps(
            {"computeEnvironmentName": environment.name, "computeEnvironmentArn": environment.arn}
        )


def handle_delete_compute_environment(self: BatchResponse) -> str:
    """Answer DeleteComputeEnvironment."""
    self.batch_backend.delete_compute_environment(str(_body(self).get("computeEnvironment") or ""))
    return "{}"


def handle_create_job_queue(self: BatchResponse) -> str:
    """Answer CreateJobQueue."""
    backend, request = self.batch_backend, _body(self)
    scheduler = scheduler_for(backend)
    with scheduler.lock:
        queue = job_queues.create(backend, scheduler, request)
        return json.dumps({"jobQueueName": queue.name, "jobQueueArn": queue.arn})


def handle_describe_job_queues(self: BatchResponse) -> str:
    """Answer DescribeJobQueues (with maxResults/nextToken paging)."""
    request = _body(self)
    return _paged("jobQueues", self.batch_backend.describe_job_queues(request.get("jobQueues")), request)


def handle_get_job_queue_snapshot(self: BatchResponse) -> str:
    """Answer GetJobQueueSnapshot: the front of a queue in dispatch order, and its utilization."""
    identifier = str(_body(self).get("jobQueue") or "")
    if not identifier:
        raise client_error("'jobQueue' is a required field (cannot be an empty string)")
    backend = self.batch_backend
    scheduler = scheduler_for(backend)
    with scheduler.lock:
        queue = job_queues.find_existing(backend, identifier)
        return json.dumps(scheduler.front_of_queue(queue))


def handle_update_job_queue(self: BatchResponse) -> str:
    """Answer UpdateJobQueue."""
    backend, request = self.batch_backend, _body(self)
    scheduler = scheduler_for(backend)
    with scheduler.lock:
        queue = job_queues.update(backend, scheduler, request)
        return json.dumps({"jobQueueName": queue.name, "jobQueueArn": queue.arn})


def handle_delete_job_queue(self: BatchResponse) -> str:
    """Answer DeleteJobQueue."""
    self.batch_backend.delete_job_queue(str(_body(self).get("jobQueue") or ""))
    return "{}"


def install_infrastructure() -> None:
    """Patch moto's Batch backend and API handlers for compute environments, queues and policies."""
    patches: dict[str, Any] = {
        "create_compute_environment": create_compute_environment,
        "describe_compute_environments": describe_compute_environments,
        "update_compute_environment": update_compute_environment,
        "delete_compute_environment": delete_compute_environment,
        "create_job_queue": create_job_queue,
        "describe_job_queues": describe_job_queues,
        "update_job_queue": update_job_queue,
        "delete_job_queue": delete_job_queue,
        "create_scheduling_policy": create_scheduling_policy,
        "update_scheduling_policy": update_scheduling_policy,
        "delete_scheduling_policy": delete_scheduling_policy,
    }
    for name, function in patches.items():
        setattr(BatchBackend, name, function)
    handlers: dict[str, Any] = {
        "createcomputeenvironment": handle_create_compute_environment,
        "describecomputeenvironments": handle_describe_compute_environments,
        "updatecomputeenvironment": handle_update_compute_environment,
        "deletecomputeenvironment": handle_delete_compute_environment,
        "createjobqueue": handle_create_job_queue,
        "describejobqueues": handle_describe_job_queues,
        "getjobqueuesnapshot": handle_get_job_queue_snapshot,
        "updatejobqueue": handle_update_job_queue,
        "deletejobqueue": handle_delete_job_queue,
    }
    for name, function in handlers.items():
        setattr(BatchResponse, name, function)
    # moto routes no GetJobQueueSnapshot: its path joins the others (read when a server or mock starts).
    batch_urls.url_paths.setdefault("{0}/v1/getjobqueuesnapshot$", BatchResponse.dispatch)

"""Teach moto's Batch model to run jobs for real: patch its job methods and API handlers once.

moto 5.2.5's Batch backend runs each job on its own thread through Docker, drops several
SubmitJob fields, has no ListJobs pagination and scans every job on DescribeJobs. ``install()``
swaps those parts for this package's job model and scheduler, and (``infrastructure_api``)
gives compute environments, job queues and scheduling policies AWS's lifecycle and rules; job
definitions stay moto's (``ecs_definitions`` registers the ECS multi-container ones moto refuses).
moto is pinned because the patch reaches into its internals.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import moto
from moto.batch.exceptions import ClientException
from moto.batch.models import BatchBackend, JobDefinition, batch_backends
from moto.batch.responses import BatchResponse

from aws_batch_local.definition_pages import install_definition_pages
from aws_batch_local.ecs_definitions import ecs_properties_of, register_ecs_job_definition
from aws_batch_local.infrastructure_api import install_infrastructure
from aws_batch_local.listing import list_jobs
from aws_batch_local.multinode import find_node
from aws_batch_local.process import supervisor
from aws_batch_local.retry import canonical_retry_strategy
from aws_batch_local.scheduler import existing_scheduler, scheduler_for
from aws_batch_local.settings import EmulatorSettings, configure
from aws_batch_local.submission import build_job

SUPPORTED_MOTO_VERSION = "5.2.5"
MAX_DESCRIBE_JOBS = 100

_install_lock = threading.Lock()
_installed = False

__all__ = ["install", "scheduler_for", "shutdown_all"]


class UnsupportedMotoVersion(RuntimeError):
    """The installed moto is not the version this extension was written against."""


def check_moto_version(version: str) -> None:
    """Raise UnsupportedMotoVersion unless ``version`` is the moto version the extension patches."""
    if version != SUPPORTED_MOTO_VERSION:
        raise UnsupportedMotoVersion(
            f"aws_batch_local extends moto {SUPPORTED_MOTO_VERSION} internals, "
            f"but moto {version} is installed; install moto[server]=={SUPPORTED_MOTO_VERSION}"
        )


def _require(value: str | None, field: str) -> None:
    if not value:
        raise ClientException(f"'{field}' is a required field (cannot be an empty string)")


# ------------------------------------------------------------------------- backend methods


def submit_job(self: BatchBackend, request: dict[str, Any]) -> tuple[str, str, str]:
    """Validate and schedule a SubmitJob request; return (name, id, ARN)."""
    scheduler = scheduler_for(self)
    with scheduler.lock:
        job = build_job(self, scheduler.store, request)
        scheduler.submit(job)
        return job.name, job.job_id, job.arn


def describe_jobs(self: BatchBackend, jobs: list[str] | None) -> list[dict[str, Any]]:
    """Return JobDetail of each known id or ARN (multi-node nodes too, ``<jobId>#<N>``).

    Cost grows with the ids asked, not the jobs stored.
    """
    identifiers = jobs or []
    if len(identifiers) > MAX_DESCRIBE_JOBS:
        raise ClientException(
            f"DescribeJobs accepts at most {MAX_DESCRIBE_JOBS} jobs, got {len(identifiers)}"
        )
    scheduler = scheduler_for(self)
    details = []
    with scheduler.lock:
        for identifier in identifiers:
            job = scheduler.store.get(identifier)
            if job is not None:
                details.append(job.describe(self.list_tags_for_resource(job.arn)))
                continue
            node = find_node(scheduler.store, identifier)
            if node is not None:
                details.append(node.describe(self.list_tags_for_resource(node.parent.arn)))
    return details


def list_jobs_page(self: BatchBackend, request: dict[str, Any]) -> dict[str, Any]:
    """Return one ListJobs page for a request body."""
    scheduler = scheduler_for(self)
    with scheduler.lock:
        return list_jobs(scheduler.store, self, request)


def terminate_job(self: BatchBackend, job_id: str, reason: str) -> None:
    """Terminate a job in any status (its children too, for an array parent)."""
    _require(job_id, "jobId")
    _require(reason, "reason")
    scheduler = scheduler_for(self)
    with scheduler.lock:
        job = scheduler.store.get(job_id)
        if job is not None:
            scheduler.terminate(job, reason)


def cancel_job(self: BatchBackend, job_id: str, reason: str) -> None:
    """Cancel a job that has not reached STARTING; others are left to TerminateJob."""
    _require(job_id, "jobId")
    _require(reason, "reason")
    scheduler = scheduler_for(self)
    with scheduler.lock:
        job = scheduler.store.get(job_id)
        if job is not None:
            scheduler.cancel(job, reason)


_moto_reset = BatchBackend.reset
_moto_register_job_definition = BatchResponse.registerjobdefinition
_moto_describe_job_definition = JobDefinition.describe


def reset(self: BatchBackend) -> None:
    """Stop this backend's scheduler and processes, then let moto reset the rest."""
    scheduler = existing_scheduler(self)
    if scheduler is not None:
        scheduler.shutdown()
    _moto_reset(self)


def describe_job_definition(self: JobDefinition) -> dict[str, Any]:
    """Return moto's job definition shape plus the fields moto drops (nodeProperties,
    schedulingPriority, ecsProperties).

    Members without a value are left out, as AWS leaves them out (moto sends them as null).
    """
    result = {key: value for key, value in _moto_describe_job_definition(self).items() if value is not None}
    if self.node_properties is not None:
        result["nodeProperties"] = self.node_properties
    ecs_properties = ecs_properties_of(self)
    if ecs_properties is not None:
        result["ecsProperties"] = ecs_properties
        result["containerOrchestrationType"] = "ECS"
    scheduling_priority = getattr(self, "scheduling_priority", None)
    if scheduling_priority is not None:
        result["schedulingPriority"] = scheduling_priority
    return result


# ---------------------------------------------------------------------------- API handlers


def _body(response: BatchResponse) -> dict[str, Any]:
    raw = response.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return json.loads(raw) if raw else {}


def handle_submit_job(self: BatchResponse) -> str:
    """Answer SubmitJob."""
    name, job_id, arn = submit_job(self.batch_backend, _body(self))
    return json.dumps({"jobArn": arn, "jobName": name, "jobId": job_id})


def handle_describe_jobs(self: BatchResponse) -> str:
    """Answer DescribeJobs."""
    return json.dumps({"jobs": describe_jobs(self.batch_backend, _body(self).get("jobs"))})


def handle_list_jobs(self: BatchResponse) -> str:
    """Answer ListJobs."""
    return json.dumps(list_jobs_page(self.batch_backend, _body(self)))


def handle_terminate_job(self: BatchResponse) -> str:
    """Answer TerminateJob."""
    body = _body(self)
    terminate_job(self.batch_backend, body.get("jobId", ""), body.get("reason", ""))
    return "{}"


def handle_cancel_job(self: BatchResponse) -> str:
    """Answer CancelJob."""
    body = _body(self)
    cancel_job(self.batch_backend, body.get("jobId", ""), body.get("reason", ""))
    return "{}"


def handle_register_job_definition(self: BatchResponse) -> str:
    """Answer RegisterJobDefinition with moto (ECS multi-container ones with ecs_definitions), then keep
    what moto drops from the request."""
    body = _body(self)
    if body.get("ecsProperties") is not None:
        registered = register_ecs_job_definition(self.batch_backend, body)
        answer = json.dumps(
            {
                "jobDefinitionArn": registered.arn,
                "jobDefinitionName": registered.name,
                "revision": registered.revision,
            }
        )
    else:
        answer = _moto_register_job_definition(self)
    definition = self.batch_backend.get_job_definition_by_arn(json.loads(answer)["jobDefinitionArn"])
    if definition is not None:
        if body.get("retryStrategy") is not None:
            definition.retry_strategy = canonical_retry_strategy(body["retryStrategy"])
        definition.__dict__["scheduling_priority"] = body.get("schedulingPriority")
        definition.platform_capabilities = (
            body.get("platformCapabilities") or definition.platform_capabilities
        )
        definition.propagate_tags = body.get("propagateTags", definition.propagate_tags)
    return answer


def install(settings: EmulatorSettings | None = None) -> None:
    """Patch moto's Batch model once (idempotent) and apply ``settings`` when given.

    Works for moto's server and for ``moto.mock_aws()`` in-process alike.
    """
    global _installed
    check_moto_version(moto.__version__)
    if settings is not None:
        configure(settings)
    with _install_lock:
        if _installed:
            return
        BatchBackend.submit_job = submit_job  # type: ignore[method-assign, assignment]
        BatchBackend.describe_jobs = describe_jobs  # type: ignore[method-assign]
        BatchBackend.list_jobs = list_jobs_page  # type: ignore[method-assign, assignment]
        BatchBackend.terminate_job = terminate_job  # type: ignore[method-assign]
        BatchBackend.cancel_job = cancel_job  # type: ignore[method-assign]
        BatchBackend.reset = reset  # type: ignore[method-assign]
        JobDefinition.describe = describe_job_definition  # type: ignore[method-assign]
        BatchResponse.submitjob = handle_submit_job  # type: ignore[method-assign]
        BatchResponse.describejobs = handle_describe_jobs  # type: ignore[method-assign]
        BatchResponse.listjobs = handle_list_jobs  # type: ignore[method-assign]
        BatchResponse.terminatejob = handle_terminate_job  # type: ignore[method-assign]
        BatchResponse.canceljob = handle_cancel_job  # type: ignore[method-assign]
        BatchResponse.registerjobdefinition = handle_register_job_definition  # type: ignore[method-assign]
        install_infrastructure()
        install_definition_pages()
        _installed = True


def shutdown_all() -> None:
    """Stop every backend's scheduler and kill every job process of this Python process."""
    for account_backends in list(batch_backends.values()):
        for backend in list(account_backends.values()):
            scheduler = existing_scheduler(backend)
            if scheduler is not None:
                scheduler.shutdown()
    supervisor().kill_all()

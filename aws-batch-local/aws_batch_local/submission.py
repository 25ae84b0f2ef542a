"""Turn a SubmitJob request into a validated BatchJob, keeping every field AWS accepts."""

from __future__ import annotations

import copy
import re
import uuid
from typing import TYPE_CHECKING, Any

from aws_batch_local.arns import job_arn
from aws_batch_local.ecs_definitions import check_ecs_submission
from aws_batch_local.errors import ClientException
from aws_batch_local.jobs import BatchJob, now_ms
from aws_batch_local.orchestration import check_orchestration
from aws_batch_local.retry import canonical_retry_strategy

if TYPE_CHECKING:
    from aws_batch_local.region import BatchRegion
    from aws_batch_local.store import JobStore

MIN_ARRAY_SIZE = 2
MAX_ARRAY_SIZE = 10_000
MAX_DEPENDENCIES = 20
MAX_ATTEMPTS = 10
MAX_TAGS = 50
DEPENDENCY_TYPES = ("N_TO_N", "SEQUENTIAL")
MAX_SCHEDULING_PRIORITY = 9999
#: AWS: up to 128 letters, numbers, hyphens and underscores, starting with a letter or number.
JOB_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
SHARE_IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z0-9]{1,255}\*?$")
_GONE_QUEUE_STATUSES = ("DELETING", "DELETED")


def resolve_job_definition(region: BatchRegion, identifier: str) -> Any:
    """Return the job definition named by ARN, ``name:revision`` or ``name`` (latest ACTIVE revision)."""
    definition = region.job_definitions.get(identifier)
    if definition is None:
        raise ClientException(f"Job definition {identifier} does not exist")
    return definition


def _validate_array_size(request: dict[str, Any]) -> int | None:
    array_properties = request.get("arrayProperties") or {}
    if "size" not in array_properties:
        return None
    size = int(array_properties["size"])
    if not MIN_ARRAY_SIZE <= size <= MAX_ARRAY_SIZE:
        raise ClientException(
            f"arrayProperties.size must be between {MIN_ARRAY_SIZE} and {MAX_ARRAY_SIZE}, got {size}"
        )
    return size


def _validate_dependencies(
    request: dict[str, Any], store: JobStore, array_size: int | None
) -> tuple[list[dict[str, str]], list[str]]:
    """Return dependsOn as given and the job ids it resolves to."""
    depends_on = copy.deepcopy(request.get("dependsOn") or [])
    if len(depends_on) > MAX_DEPENDENCIES:
        raise ClientException(f"A job can depend on at most {MAX_DEPENDENCIES} jobs, got {len(depends_on)}")
    dependency_ids = []
    for dependency in depends_on:
        kind = dependency.get("type")
        if kind is not None and kind not in DEPENDENCY_TYPES:
            raise ClientException(
                f"Dependency type must be one of {' | '.join(DEPENDENCY_TYPES)}, got {kind}"
            )
        if kind == "SEQUENTIAL" and array_size is None:
            raise ClientException("A SEQUENTIAL dependency is only valid for array jobs")
        if not dependency.get("jobId"):
            if kind != "SEQUENTIAL":
                raise ClientException("dependsOn entries need a jobId unless their type is SEQUENTIAL")
            continue
        target = store.get(dependency["jobId"])
        if target is None:
            raise ClientException(f"Dependent job {dependency['jobId']} does not exist")
        dependency_ids.append(target.job_id)
    return depends_on, dependency_ids


def _validate_retry_and_timeout(request: dict[str, Any]) -> None:
    attempts = (request.get("retryStrategy") or {}).get("attempts")
    if attempts is not None and not 1 <= int(attempts) <= MAX_ATTEMPTS:
        raise ClientException(f"retryStrategy.attempts must be between 1 and {MAX_ATTEMPTS}, got {attempts}")
    seconds = (request.get("timeout") or {}).get("attemptDurationSeconds")
    if seconds is not None and int(seconds) < 1:
        raise ClientException(f"timeout.attemptDurationSeconds must be positive, got {seconds}")


def _validate_fair_share(queue: Any, definition: Any, request: dict[str, Any]) -> int | None:
    """Apply a fair-share queue's submission rules; return the job's scheduling priority.

    A queue with a scheduling policy needs a shareIdentifier on every job, and a scheduling
    priority (the job definition's ``schedulingPriority`` or the job's
    ``schedulingPriorityOverride``). AWS's reference also says not to give a shareIdentifier to a
    queue without one; the emulator records such a shareIdentifier and otherwise ignores it.
    """
    share = request.get("shareIdentifier")
    override = request.get("schedulingPriorityOverride")
    if override is not None and not 0 <= int(override) <= MAX_SCHEDULING_PRIORITY:
        raise ClientException(
            f"schedulingPriorityOverride must be between 0 and {MAX_SCHEDULING_PRIORITY}, got {override}"
        )
    priority = override if override is not None else getattr(definition, "scheduling_priority", None)
    if share is not None and SHARE_IDENTIFIER_PATTERN.match(str(share)) is None:
        raise ClientException(
            f"shareIdentifier {share!r} must be up to 255 letters and numbers, optionally followed by "
            "an asterisk (*)"
        )
    if not getattr(queue, "schedule_policy", None):
        return priority
    if not share:
        raise ClientException(
            f"Job queue {queue.name} has a fair-share scheduling policy: a shareIdentifier must be specified"
        )
    if priority is None:
        raise ClientException(
            f"Job queue {queue.name} has a fair-share scheduling policy: the job definition needs a "
            "schedulingPriority or the job a schedulingPriorityOverride"
        )
    return int(priority)


def build_job(region: BatchRegion, store: JobStore, request: dict[str, Any]) -> BatchJob:
    """Validate a SubmitJob request body and return the new job (not yet scheduled)."""
    name = request.get("jobName") or ""
    if JOB_NAME_PATTERN.match(name) is None:
        raise ClientException("Job name should match valid pattern")
    definition = resolve_job_definition(region, str(request.get("jobDefinition") or ""))
    queue = region.get_job_queue(str(request.get("jobQueue") or ""))
    if queue is None or getattr(queue, "status", "") in _GONE_QUEUE_STATUSES:
        raise ClientException(f"Job queue {request.get('jobQueue')} does not exist")
    if queue.state != "ENABLED":
        raise ClientException(f"Job queue {queue.name} is {queue.state}; it does not accept jobs")
    check_orchestration(queue, definition, request)
    scheduling_priority = _validate_fair_share(queue, definition, request)
    array_size = _validate_array_size(request)
    depends_on, dependency_ids = _validate_dependencies(request, store, array_size)
    _validate_retry_and_timeout(request)
    parameters = {**(definition.parameters or {}), **(request.get("parameters") or {})}
    check_ecs_submission(definition, request, parameters)
    tags = dict(request.get("tags") or {})
    if len(tags) > MAX_TAGS:
        raise ClientException(f"A job can have at most {MAX_TAGS} tags, got {len(tags)}")

    job_id = str(uuid.uuid4())
    arn = job_arn(region.account_id, region.region_name, job_id)
    if tags:
        region.tag_resource(arn, tags)
    propagate_tags = request.get("propagateTags")
    return BatchJob(
        job_id=job_id,
        arn=arn,
        name=name,
        queue=queue,
        definition=definition,
        seq=store.next_sequence(),
        created_at=now_ms(),
        parameters=parameters,
        depends_on=depends_on,
        container_overrides=request.get("containerOverrides"),
        eks_override=request.get("eksPropertiesOverride"),
        node_overrides=request.get("nodeOverrides"),
        ecs_override=request.get("ecsPropertiesOverride"),
        timeout=request.get("timeout"),
        retry_strategy=canonical_retry_strategy(request["retryStrategy"])
        if request.get("retryStrategy")
        else None,
        propagate_tags=definition.propagate_tags if propagate_tags is None else propagate_tags,
        share_identifier=request.get("shareIdentifier"),
        scheduling_priority=scheduling_priority,
        array_size=array_size,
        dependency_ids=[] if array_size is not None else dependency_ids,
    )

"""SubmitJob's orchestration rules: EKS jobs on EKS job queues, ECS jobs on ECS job queues.

A job queue's compute environments are all Amazon EKS or all Amazon ECS (``jobQueueType`` EKS,
ECS or ECS_FARGATE). A job definition with ``eksProperties`` runs as a Kubernetes pod, so only
on an EKS queue; any other job definition (``containerProperties``, ``nodeProperties``,
``ecsProperties``) runs as ECS tasks, so never on one. AWS documents no wording for refusing a
mismatch: the message here states the rule. For EKS jobs, container and node overrides are
refused with AWS's own message, and ``eksPropertiesOverride`` is refused on other jobs, as the
SubmitJob reference says it "can only be specified for jobs that are run on Amazon EKS resources".
"""

from __future__ import annotations

from typing import Any

from aws_batch_local.errors import ClientException

EKS_QUEUE_TYPE = "EKS"
#: AWS's message (seen on AWS, quoted in public bug reports) for ECS overrides on an EKS job.
ECS_OVERRIDES_ON_EKS_JOB = "Container overrides or node overrides should not be set for Batch on EKS jobs."


def is_eks_definition(definition: Any) -> bool:
    """Return whether a job definition runs as an EKS pod (top level or in its node ranges)."""
    if getattr(definition, "eks_properties", None) is not None:
        return True
    ranges = (getattr(definition, "node_properties", None) or {}).get("nodeRangeProperties") or []
    return any(node_range.get("eksProperties") for node_range in ranges)


def queue_type(queue: Any) -> str:
    """Return the job queue's type: EKS, ECS or ECS_FARGATE."""
    return str(getattr(queue, "job_queue_type", "ECS"))


def check_orchestration(queue: Any, definition: Any, request: dict[str, Any]) -> None:
    """Raise ClientException when the job cannot run on the queue's kind of compute environment."""
    name = f"{definition.name}:{definition.revision}"
    kind = queue_type(queue)
    if is_eks_definition(definition):
        if kind != EKS_QUEUE_TYPE:
            raise ClientException(
                f"Job definition {name} uses eksProperties (an Amazon EKS job) but job queue {queue.name} "
                f"is of type {kind}: Amazon EKS jobs can only be submitted to a job queue whose compute "
                "environments use Amazon EKS"
            )
        if request.get("containerOverrides") or request.get("nodeOverrides"):
            raise ClientException(ECS_OVERRIDES_ON_EKS_JOB)
        return
    if kind == EKS_QUEUE_TYPE:
        raise ClientException(
            f"Job definition {name} is an Amazon ECS job (it has no eksProperties) but job queue "
            f"{queue.name} is of type {kind}: a job queue whose compute environments use Amazon EKS "
            "only accepts job definitions with eksProperties"
        )
    if request.get("eksPropertiesOverride"):
        raise ClientException(
            f"eksPropertiesOverride can only be specified for jobs that run on Amazon EKS resources; "
            f"job definition {name} has no eksProperties"
        )

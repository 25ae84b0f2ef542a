"""Place a job on a compute environment of its queue, or say why none can ever run it.

A compute environment takes jobs when it is ENABLED and VALID (or UPDATING, which keeps running
jobs); one that is still CREATING counts when deciding whether a job can ever fit, so a job too
big for every compute environment is reported at once, but it gets no jobs until it is VALID.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from aws_batch_local.containers import resource_value
from aws_batch_local.ecs_definitions import task_size
from aws_batch_local.instance_types import catalog
from aws_batch_local.jobs import ECS_KIND, EKS_KIND

if TYPE_CHECKING:
    from aws_batch_local.jobs import BatchJob

# Status reasons of a job stuck in RUNNABLE, worded as AWS Batch words them.
COMPUTE_ENVIRONMENT_MAX_RESOURCE = (
    "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - "
    "CE(s) associated with the job queue cannot meet the CPU requirement of the job."
)
JOB_RESOURCE_REQUIREMENT = (
    "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job resource requirement (vCPU/memory/GPU) "
    "is higher than that can be met by the CE(s) attached to the job queue."
)

# "optimal" picks from the C4, M4 and R4 families; Fargate tasks go up to 16 vCPU and 120 GiB.
OPTIMAL_FAMILIES = ("c4", "m4", "r4")
FARGATE_LARGEST = (16.0, 122_880.0, 0.0)


@dataclass(frozen=True)
class Placement:
    """Where a job runs, or the misconfiguration that keeps it in RUNNABLE for good."""

    compute_environment: Any
    blocked_reason: str | None


def _instance_size(instance_type: str) -> tuple[float, float, float]:
    info = catalog()[instance_type]
    gpus = sum(gpu.get("Count", 0) for gpu in (info.get("GpuInfo") or {}).get("Gpus", []))
    return (
        float(info["VCpuInfo"]["DefaultVCpus"]),
        float(info["MemoryInfo"]["SizeInMiB"]),
        float(gpus),
    )


@lru_cache(maxsize=64)
def _instance_sizes(requested: tuple[str, ...]) -> list[tuple[float, float, float]]:
    sizes = []
    for name in requested:
        if name in catalog():
            sizes.append(_instance_size(name))
            continue
        families = OPTIMAL_FAMILIES if name == "optimal" else (name,)
        sizes.extend(
            _instance_size(instance_type)
            for instance_type in catalog()
            if instance_type.split(".", 1)[0] in families
        )
    return sizes


def _largest_sizes(compute_environment: Any) -> list[tuple[float, float, float]]:
    resources = compute_environment.compute_resources or {}
    if "FARGATE" in str(resources.get("type", "")):
        return [FARGATE_LARGEST]
    return _instance_sizes(tuple(resources.get("instanceTypes") or ["optimal"]))


def _fits_an_instance(needs: list[tuple[float, float, float]], compute_environment: Any) -> bool:
    if compute_environment.env_type != "MANAGED":
        return True
    sizes = _largest_sizes(compute_environment)
    return all(
        any(vcpus <= size[0] and memory <= size[1] and gpus <= size[2] for size in sizes)
        for vcpus, memory, gpus in needs
    )


def _within_max_vcpus(total_vcpus: float, compute_environment: Any) -> bool:
    if compute_environment.env_type != "MANAGED":
        return True
    return total_vcpus <= float((compute_environment.compute_resources or {}).get("maxvCpus", 0))


def container_needs(job: BatchJob) -> list[tuple[float, float, float]]:
    """Return (vCPUs, MiB, GPUs) of each instance's share of the job (an ECS task's containers share one)."""
    if job.kind == EKS_KIND:
        return []
    if job.kind == ECS_KIND:
        vcpus, memory, gpus = task_size(job.containers())
        return [(vcpus or 1.0, memory, gpus)]
    return [
        (
            resource_value(container, "VCPU") or 1.0,
            resource_value(container, "MEMORY") or 0.0,
            resource_value(container, "GPU") or 0.0,
        )
        for container in job.containers()
    ]


# Statuses of a compute environment (an object without one counts as VALID).
_DISPATCHING = frozenset({"VALID", "UPDATING"})
_COMING = _DISPATCHING | {"CREATING"}


def _status(compute_environment: Any) -> str:
    return str(getattr(compute_environment, "status", "VALID"))


def is_dispatchable(compute_environment: Any) -> bool:
    """Return whether a compute environment takes new jobs now: ENABLED and VALID or UPDATING."""
    return (
        compute_environment is not None
        and compute_environment.state in (None, "ENABLED")
        and _status(compute_environment) in _DISPATCHING
    )


def job_vcpus(job: BatchJob) -> float:
    """Return the vCPUs a job uses while it runs (all its containers)."""
    return sum(vcpus for vcpus, _, _ in container_needs(job)) or 1.0


def place(job: BatchJob) -> Placement:
    """Return the first dispatchable compute environment of the job's queue that can run it.

    No environment and no reason means "wait": none is enabled and valid yet.
    """
    environments = [
        env for env in job.queue.environments if env.state in (None, "ENABLED") and _status(env) in _COMING
    ]
    needs = container_needs(job)
    total_vcpus = sum(vcpus for vcpus, _, _ in needs)
    instance_fits = [env for env in environments if _fits_an_instance(needs, env)]
    if environments and not instance_fits:
        return Placement(None, JOB_RESOURCE_REQUIREMENT)
    within = [env for env in instance_fits if _within_max_vcpus(total_vcpus, env)]
    for environment in within:
        if is_dispatchable(environment):
            return Placement(environment, None)
    if instance_fits and not within:
        return Placement(None, COMPUTE_ENVIRONMENT_MAX_RESOURCE)
    return Placement(None, None)

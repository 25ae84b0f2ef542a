"""The ECS task definition AWS Batch registers behind an ECS-based job, in moto's ECS backend.

AWS Batch runs an ECS-based job as an ECS task of a task definition it registers itself, in the
family named after the job definition: the Amazon provider's system test of Batch (apache/airflow
``providers/amazon/tests/system/amazon/aws/example_batch.py``) removes it after its job ran with
``EcsDeregisterTaskDefinitionOperator(task_definition=f"{job_definition_name}:1")``. The emulator
registers it when a job of a job definition revision is first dispatched (STARTING) and reuses it
while it stays ACTIVE; a deregistered one is registered again as the family's next revision.

What goes into it: a container job's container is ECS container ``default`` (the name in its
``<prefix>/default/<task id>`` log stream); an ECS multi-container job's containers keep their
names, ``essential`` and ``dependsOn``. vCPUs become ECS CPU units (1 vCPU = 1024), memory MiB,
GPUs a GPU resource requirement; the log configuration is the container's, with the awslogs
defaults Batch applies (group ``/aws/batch/job``, the region, stream prefix the job definition
name). The task's size is the sum of its containers; Fargate tasks use network mode awsvpc.
Registered through moto's ECS backend API only.

A multi-node parallel job on ECS runs each node as an ECS task of its own, in ``awsvpc`` network
mode (user guide, "Networking modes for AWS Batch jobs"), so it has task definitions too: the
emulator registers one per node group, in the same family and with the same rules as a container
job's (ECS container ``default``, as in the node's ``<prefix>/default/<task id>`` stream). AWS
does not document their names; this is the emulator's reading. An EKS job runs pods: none.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from aws_batch_local.containers import DEFAULT_CONTAINER_NAME, DEFAULT_LOG_GROUP, resource_value
from aws_batch_local.ecs_definitions import (
    FARGATE,
    container_name,
    ecs_properties_of,
    is_essential,
    task_properties,
    task_size,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_batch_local.jobs import BatchJob

logger = logging.getLogger(__name__)

CPU_UNITS_PER_VCPU = 1024
_COPIED_CONTAINER_KEYS = (
    "command",
    "environment",
    "secrets",
    "mountPoints",
    "ulimits",
    "user",
    "privileged",
    "readonlyRootFilesystem",
    "linuxParameters",
    "dependsOn",
    "startTimeout",
    "stopTimeout",
    "repositoryCredentials",
    "firelensConfiguration",
)


def _log_configuration(properties: Mapping[str, Any], family: str, region: str) -> dict[str, Any]:
    given = copy.deepcopy(dict(properties.get("logConfiguration") or {"logDriver": "awslogs"}))
    if given.get("logDriver") == "awslogs":
        options = dict(given.get("options") or {})
        options.setdefault("awslogs-group", DEFAULT_LOG_GROUP)
        options.setdefault("awslogs-region", region)
        options.setdefault("awslogs-stream-prefix", family)
        given["options"] = options
    return given


def container_definition(
    name: str, properties: Mapping[str, Any], essential: bool, family: str, region: str
) -> dict[str, Any]:
    """Return the ECS ContainerDefinition of one Batch container."""
    definition: dict[str, Any] = {"name": name, "image": properties["image"], "essential": essential}
    for key in _COPIED_CONTAINER_KEYS:
        if properties.get(key) not in (None, []):
            definition[key] = copy.deepcopy(properties[key])
    vcpus = resource_value(properties, "VCPU")
    memory = resource_value(properties, "MEMORY")
    gpus = resource_value(properties, "GPU")
    if vcpus:
        definition["cpu"] = int(vcpus * CPU_UNITS_PER_VCPU)
    if memory:
        definition["memory"] = int(memory)
    if gpus:
        definition["resourceRequirements"] = [{"type": "GPU", "value": str(int(gpus))}]
    definition["logConfiguration"] = _log_configuration(properties, family, region)
    return definition


def task_definition_requests(job_definition: Any, region: str) -> list[dict[str, Any]]:
    """Return the arguments of moto's ``register_task_definition`` for each task definition behind a job.

    A container job and an ECS multi-container job run one ECS task: one task definition. A
    multi-node job runs each node as an ECS task of its own, in ``awsvpc`` network mode: one per
    node group (``nodeRangeProperties`` entry with a container). An EKS job runs pods: none.
    """
    family = job_definition.name
    if getattr(job_definition, "eks_properties", None) is not None:
        return []
    ecs_properties = ecs_properties_of(job_definition)
    fargate = FARGATE in (job_definition.platform_capabilities or [])
    if ecs_properties is not None:
        task = task_properties(ecs_properties)
        containers = list(task.get("containers") or [])
        definitions = [
            container_definition(container_name(item), item, is_essential(item), family, region)
            for item in containers
        ]
        return [_request(family, task, containers, definitions, task.get("taskRoleArn"), fargate, fargate)]
    if job_definition.type == "multinode":
        ranges = (job_definition.node_properties or {}).get("nodeRangeProperties") or []
        return [
            _container_job_request(family, node_range["container"], region, False, True)
            for node_range in ranges
            if node_range.get("container")
        ]
    if job_definition.container_properties is not None:
        return [_container_job_request(family, job_definition.container_properties, region, fargate, fargate)]
    return []


def _container_job_request(
    family: str, properties: Mapping[str, Any], region: str, fargate: bool, awsvpc: bool
) -> dict[str, Any]:
    """Return the request of a task of one container, ECS container ``default``."""
    definitions = [container_definition(DEFAULT_CONTAINER_NAME, properties, True, family, region)]
    return _request(
        family, properties, [properties], definitions, properties.get("jobRoleArn"), fargate, awsvpc
    )


def _request(
    family: str,
    properties: Mapping[str, Any],
    containers: list[Any],
    definitions: list[dict[str, Any]],
    task_role: str | None,
    fargate: bool,
    awsvpc: bool,
) -> dict[str, Any]:
    vcpus, memory, _ = task_size(containers)
    return {
        "family": family,
        "container_definitions": definitions,
        "volumes": copy.deepcopy(properties.get("volumes") or []),
        "network_mode": "awsvpc" if awsvpc else None,
        "requires_compatibilities": [FARGATE] if fargate else ["EC2"],
        "cpu": str(int(vcpus * CPU_UNITS_PER_VCPU)) if vcpus else None,
        "memory": str(int(memory)) if memory else None,
        "task_role_arn": task_role,
        "execution_role_arn": properties.get("executionRoleArn"),
        "runtime_platform": copy.deepcopy(properties.get("runtimePlatform")),
        "ipc_mode": properties.get("ipcMode"),
        "pid_mode": properties.get("pidMode"),
        "ephemeral_storage": copy.deepcopy(properties.get("ephemeralStorage")),
    }


def _still_active(ecs_backend: Any, arn: str | None) -> bool:
    if arn is None:
        return False
    try:
        return str(ecs_backend.describe_task_definition(arn).status) == "ACTIVE"
    except Exception:
        return False


def register_task_definitions_of(ecs_backend: Any, job: BatchJob) -> list[str]:
    """Return the ARNs of the ECS task definitions behind ``job``, registering those missing.

    Each is reused while it stays ACTIVE. One that moto's ECS model refuses is left out (logged):
    the job still runs.
    """
    job_definition = job.definition
    known = job_definition.task_definition_arns
    arns = []
    for index, request in enumerate(task_definition_requests(job_definition, ecs_backend.region_name)):
        if index >= len(known):
            known.append(None)
        arn = known[index]
        if not _still_active(ecs_backend, arn):
            try:
                arn = str(ecs_backend.register_task_definition(**request).arn)
            except Exception as error:
                logger.warning("no ECS task definition for %s: %s", job_definition.arn, error)
                continue
            known[index] = arn
        arns.append(str(arn))
    return arns

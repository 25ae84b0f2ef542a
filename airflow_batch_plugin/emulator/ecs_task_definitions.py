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
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.emulator.containers import DEFAULT_CONTAINER_NAME, DEFAULT_LOG_GROUP, resource_value
from airflow_batch_plugin.emulator.ecs_definitions import (
    FARGATE,
    container_name,
    ecs_properties_of,
    is_essential,
    task_properties,
    task_size,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_batch_plugin.emulator.jobs import BatchJob

logger = logging.getLogger(__name__)

CPU_UNITS_PER_VCPU = 1024
_ARN_ATTRIBUTE = "ecs_task_definition_arn"
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


def task_definition_request(job_definition: Any, region: str) -> dict[str, Any] | None:
    """Return the arguments of moto's ``register_task_definition`` for a job definition, or None.

    None for kinds that run no single ECS task here (multi-node, EKS).
    """
    family = job_definition.name
    ecs_properties = ecs_properties_of(job_definition)
    if ecs_properties is not None:
        task = task_properties(ecs_properties)
        containers = list(task.get("containers") or [])
        definitions = [
            container_definition(container_name(item), item, is_essential(item), family, region)
            for item in containers
        ]
        task_role, properties = task.get("taskRoleArn"), task
    elif job_definition.container_properties is not None and job_definition.type == "container":
        properties = job_definition.container_properties
        containers = [properties]
        definitions = [container_definition(DEFAULT_CONTAINER_NAME, properties, True, family, region)]
        task_role = properties.get("jobRoleArn")
    else:
        return None
    vcpus, memory, _ = task_size(containers)
    fargate = FARGATE in (job_definition.platform_capabilities or [])
    return {
        "family": family,
        "container_definitions": definitions,
        "volumes": copy.deepcopy(properties.get("volumes") or []),
        "network_mode": "awsvpc" if fargate else None,
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


def register_task_definition_of(ecs_backend: Any, job: BatchJob) -> str | None:
    """Return the ARN of the ECS task definition behind ``job``, registering it if needed.

    A job definition that moto's ECS model refuses gets none (logged): the job still runs.
    """
    job_definition = job.definition
    arn = job_definition.__dict__.get(_ARN_ATTRIBUTE)
    if _still_active(ecs_backend, arn):
        return str(arn)
    request = task_definition_request(job_definition, ecs_backend.region_name)
    if request is None:
        return None
    try:
        registered = ecs_backend.register_task_definition(**request)
    except Exception as error:
        logger.warning("no ECS task definition for %s: %s", job_definition.arn, error)
        return None
    job_definition.__dict__[_ARN_ATTRIBUTE] = registered.arn
    return str(registered.arn)

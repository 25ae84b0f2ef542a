"""How DescribeJobs shows an ECS multi-container job: ``ecsProperties`` and ``attempts[].taskProperties``.

Shapes from botocore's model (EcsPropertiesDetail, EcsTaskDetails, TaskContainerDetails,
AttemptEcsTaskDetails, AttemptTaskContainerDetails) and from what AWS Batch sends for such jobs:
list members of a container default to ``[]`` (command, dependsOn, environment, mountPoints,
secrets, ulimits; the task's volumes), each container carries its own ``logStreamName``,
``exitCode`` and ``networkInterfaces``, and the job has no ``container`` member at all.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from aws_batch_local.attempt_units import AttemptUnits

#: TaskContainerProperties members a job's container detail repeats (TaskContainerDetails).
CONTAINER_DETAIL_KEYS = (
    "command",
    "dependsOn",
    "environment",
    "essential",
    "firelensConfiguration",
    "image",
    "linuxParameters",
    "logConfiguration",
    "mountPoints",
    "name",
    "privileged",
    "readonlyRootFilesystem",
    "repositoryCredentials",
    "resourceRequirements",
    "secrets",
    "ulimits",
    "user",
    "startTimeout",
    "stopTimeout",
)
CONTAINER_LIST_DEFAULTS = ("command", "dependsOn", "environment", "mountPoints", "secrets", "ulimits")
#: EcsTaskProperties members a job's task detail repeats (EcsTaskDetails).
TASK_DETAIL_KEYS = (
    "ephemeralStorage",
    "executionRoleArn",
    "platformVersion",
    "ipcMode",
    "taskRoleArn",
    "pidMode",
    "networkConfiguration",
    "runtimePlatform",
    "volumes",
    "enableExecuteCommand",
    "networkMode",
)


def describe_ecs_properties(
    task: Mapping[str, Any],
    containers: Sequence[Mapping[str, Any]],
    runtime: Sequence[Mapping[str, Any]] | None,
    task_arn: str | None,
    container_instance_arn: str | None,
) -> dict[str, Any]:
    """Return JobDetail.ecsProperties (EcsPropertiesDetail).

    :param task: the job definition's task element (EcsTaskProperties).
    :param containers: the containers the job runs, overrides and parameters applied.
    :param runtime: per container, what the latest attempt knows (exit code, reason, log stream,
        network interfaces), or None before the first attempt starts.
    """
    details = []
    for index, container in enumerate(containers):
        detail = {key: copy.deepcopy(container[key]) for key in CONTAINER_DETAIL_KEYS if key in container}
        for key in CONTAINER_LIST_DEFAULTS:
            detail.setdefault(key, [])
        if runtime is not None:
            detail.update(
                {key: copy.deepcopy(value) for key, value in runtime[index].items() if key != "name"}
            )
        details.append(detail)
    task_detail: dict[str, Any] = {"containers": details}
    task_detail.update({key: copy.deepcopy(task[key]) for key in TASK_DETAIL_KEYS if key in task})
    task_detail.setdefault("volumes", [])
    if container_instance_arn is not None:
        task_detail["containerInstanceArn"] = container_instance_arn
    if task_arn is not None:
        task_detail["taskArn"] = task_arn
    return {"taskProperties": [task_detail]}


def task_container_runtime(
    containers: Sequence[Mapping[str, Any]],
    units: AttemptUnits,
    network_interfaces: Sequence[Mapping[str, str]],
) -> list[dict[str, Any]]:
    """Return what an attempt knows of each container (AttemptTaskContainerDetails).

    Its declared name, exit code, reason, log stream and the task's network interfaces.
    """
    details = []
    for container, unit in zip(containers, units, strict=True):
        detail: dict[str, Any] = {}
        if container.get("name") is not None:
            detail["name"] = container["name"]
        if unit.exit_code is not None:
            detail["exitCode"] = unit.exit_code
        if unit.reason is not None:
            detail["reason"] = unit.reason
        detail["logStreamName"] = unit.log_stream_name
        detail["networkInterfaces"] = [dict(item) for item in network_interfaces]
        details.append(detail)
    return details


def attempt_task_properties(
    containers: Sequence[Mapping[str, Any]], task_arn: str | None, container_instance_arn: str | None
) -> list[dict[str, Any]]:
    """Return AttemptDetail.taskProperties (one AttemptEcsTaskDetails) of a finished attempt."""
    task: dict[str, Any] = {}
    if container_instance_arn is not None:
        task["containerInstanceArn"] = container_instance_arn
    if task_arn is not None:
        task["taskArn"] = task_arn
    task["containers"] = [copy.deepcopy(dict(container)) for container in containers]
    return [task]

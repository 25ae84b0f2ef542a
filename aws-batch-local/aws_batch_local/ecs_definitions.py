"""ECS multi-container job definitions (``ecsProperties``): AWS's rules, registration, overrides.

``check_ecs_registration`` checks a RegisterJobDefinition body with ``ecsProperties`` against AWS
Batch's documented rules (``job_definitions`` stores it); ``check_ecs_submission`` applies
SubmitJob's rules for ``ecsPropertiesOverride`` and ``merged_task_containers`` gives the
containers a job really runs.

AWS's rules (API reference of RegisterJobDefinition, EcsProperties, EcsTaskProperties,
TaskContainerProperties, TaskContainerDependency, TaskContainerOverrides, ResourceRequirement):
``type`` container; no ``containerProperties``/``eksProperties``/``nodeProperties`` beside it; one
task element of up to 10 containers, each with an image; at least one essential container (an
omitted ``essential`` means essential); dependencies of condition START, COMPLETE or SUCCESS, the
last two never on an essential container; no environment variable starting with ``AWS_BATCH``; an
override command without empty strings; on Fargate an execution role, no GPU, no privileged
container, and (stop|start)Timeout at most 120 seconds. Where AWS leaves a gap the emulator states
its own rule: container names follow ECS's pattern and are unique, a task of several containers
names each of them (names are how dependencies, overrides and log streams find a container),
dependencies name another container and form no cycle, the task declares vCPUs and at least
4 MiB of memory in all, and on Fargate the task size (the sum of its containers) is one of
Fargate's vCPU/memory pairs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aws_batch_local.containers import (
    DEFAULT_CONTAINER_NAME,
    apply_container_overrides,
    resource_value,
)
from aws_batch_local.errors import ClientException

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

MAX_TASK_PROPERTIES = 1
MAX_CONTAINERS = 10
DEPENDENCY_CONDITIONS = ("START", "COMPLETE", "SUCCESS")
EXITED_CONDITIONS = frozenset({"COMPLETE", "SUCCESS"})
CONTAINER_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
RESERVED_ENVIRONMENT_PREFIX = "AWS_BATCH"
RESOURCE_TYPES = ("GPU", "VCPU", "MEMORY")
MIN_JOB_MEMORY_MIB = 4
MIN_CONTAINER_TIMEOUT_SECONDS = 2
MAX_FARGATE_CONTAINER_TIMEOUT_SECONDS = 120
FARGATE = "FARGATE"


def _steps(first: int, last: int, step: int) -> frozenset[int]:
    return frozenset(range(first, last + 1, step))


#: Fargate's vCPU -> memory (MiB) pairs, from AWS Batch's ResourceRequirement reference.
FARGATE_MEMORY_BY_VCPU: dict[float, frozenset[int]] = {
    0.25: frozenset({512, 1024, 2048}),
    0.5: _steps(1024, 4096, 1024),
    1: _steps(2048, 8192, 1024),
    2: _steps(4096, 16384, 1024),
    4: _steps(8192, 30720, 1024),
    8: _steps(16384, 61440, 4096),
    16: _steps(32768, 122880, 8192),
}

_PREFIX = "ecsProperties.taskProperties[0]"


def is_essential(container: Mapping[str, Any]) -> bool:
    """Return whether a container is essential (AWS: an omitted ``essential`` means true)."""
    return container.get("essential") is not False


def container_name(container: Mapping[str, Any]) -> str:
    """Return the name ECS knows the container by: its own, or ``default`` when it has none."""
    return str(container.get("name") or DEFAULT_CONTAINER_NAME)


def task_properties(ecs_properties: Mapping[str, Any]) -> dict[str, Any]:
    """Return the one task element of an ``ecsProperties`` object."""
    return dict((ecs_properties.get("taskProperties") or [{}])[0])


def _refuse(field: str, value: Any, rule: str) -> ClientException:
    return ClientException(f"{field} {value!r} {rule}")


# ------------------------------------------------------------------------------ registration


def check_ecs_registration(body: Mapping[str, Any]) -> None:
    """Raise ClientException unless a RegisterJobDefinition body with ``ecsProperties`` is valid."""
    kind = body.get("type")
    if kind != "container":
        raise _refuse("type", kind, "must be container for a job definition with ecsProperties")
    for other in ("containerProperties", "eksProperties", "nodeProperties"):
        if body.get(other) is not None:
            raise ClientException(f"ecsProperties can't be used in addition to {other}")
    ecs_properties = body.get("ecsProperties")
    if not isinstance(ecs_properties, dict):
        raise _refuse("ecsProperties", ecs_properties, "must be an object with taskProperties")
    tasks = ecs_properties.get("taskProperties")
    if not isinstance(tasks, list) or len(tasks) != MAX_TASK_PROPERTIES:
        count = len(tasks) if isinstance(tasks, list) else tasks
        raise _refuse(
            "ecsProperties.taskProperties", count, f"must hold exactly {MAX_TASK_PROPERTIES} task element"
        )
    fargate = FARGATE in (body.get("platformCapabilities") or [])
    check_task(tasks[0], fargate)


def check_task(task: Mapping[str, Any], fargate: bool) -> None:
    """Raise ClientException unless one EcsTaskProperties element follows AWS's rules."""
    containers = task.get("containers")
    if not isinstance(containers, list) or not 1 <= len(containers) <= MAX_CONTAINERS:
        count = len(containers) if isinstance(containers, list) else containers
        raise _refuse(f"{_PREFIX}.containers", count, f"must hold 1 to {MAX_CONTAINERS} containers")
    names = _check_names(containers)
    for index, container in enumerate(containers):
        _check_container(container, f"{_PREFIX}.containers[{index}]", fargate)
    if not any(is_essential(container) for container in containers):
        raise ClientException(
            f"{_PREFIX}.containers: all {len(containers)} containers have essential false; "
            "a job must have at least one essential container"
        )
    _check_dependencies(containers, names)
    _check_task_resources(containers, fargate)
    if fargate and not task.get("executionRoleArn"):
        raise ClientException(
            f"{_PREFIX}.executionRoleArn is required: jobs that run on Fargate resources must provide "
            "an execution role"
        )


def _check_names(containers: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    names: dict[str, int] = {}
    for index, container in enumerate(containers):
        field = f"{_PREFIX}.containers[{index}].name"
        name = container.get("name")
        if name is None:
            if len(containers) > 1:
                raise ClientException(
                    f"{field} is missing: a task of {len(containers)} containers must name each one "
                    "(dependsOn, overrides and log streams refer to containers by name)"
                )
            continue
        if not isinstance(name, str) or CONTAINER_NAME_PATTERN.match(name) is None:
            raise _refuse(field, name, "must be 1 to 255 letters, numbers, hyphens and underscores")
        if name in names:
            raise _refuse(
                field, name, f"is already the name of containers[{names[name]}]; names must be unique"
            )
        names[name] = index
    return names


def _check_container(container: Mapping[str, Any], field: str, fargate: bool) -> None:
    if not container.get("image"):
        raise ClientException(f"{field}.image is required")
    _check_environment(container.get("environment") or [], f"{field}.environment")
    _check_resources(container.get("resourceRequirements") or [], f"{field}.resourceRequirements", fargate)
    for key in ("startTimeout", "stopTimeout"):
        value = container.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or value < MIN_CONTAINER_TIMEOUT_SECONDS:
            raise _refuse(
                f"{field}.{key}", value, f"must be at least {MIN_CONTAINER_TIMEOUT_SECONDS} seconds"
            )
        if fargate and value > MAX_FARGATE_CONTAINER_TIMEOUT_SECONDS:
            raise _refuse(
                f"{field}.{key}",
                value,
                f"must be at most {MAX_FARGATE_CONTAINER_TIMEOUT_SECONDS} seconds on Fargate",
            )
    if fargate and container.get("privileged"):
        raise _refuse(f"{field}.privileged", True, "is not supported for jobs that run on Fargate resources")


def _check_environment(environment: Sequence[Mapping[str, Any]], field: str) -> None:
    for index, variable in enumerate(environment):
        name = str(variable.get("name") or "")
        if name.startswith(RESERVED_ENVIRONMENT_PREFIX):
            raise _refuse(
                f"{field}[{index}].name",
                name,
                f"must not start with {RESERVED_ENVIRONMENT_PREFIX}: that prefix is reserved for variables "
                "Batch sets",
            )


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _check_resources(requirements: Sequence[Mapping[str, Any]], field: str, fargate: bool) -> None:
    for index, requirement in enumerate(requirements):
        kind = requirement.get("type")
        value = requirement.get("value")
        if kind not in RESOURCE_TYPES:
            raise _refuse(f"{field}[{index}].type", kind, f"must be one of {', '.join(RESOURCE_TYPES)}")
        number = _number(value)
        if number is None or number <= 0:
            raise _refuse(f"{field}[{index}].value", value, f"must be a positive number of {kind}")
        if kind == "GPU" and fargate:
            raise _refuse(
                f"{field}[{index}].type", kind, "is not available for jobs that run on Fargate resources"
            )
        if kind == "GPU" and not number.is_integer():
            raise _refuse(f"{field}[{index}].value", value, "must be a whole number of GPUs")


def _check_dependencies(containers: Sequence[Mapping[str, Any]], names: Mapping[str, int]) -> None:
    for index, container in enumerate(containers):
        for position, dependency in enumerate(container.get("dependsOn") or []):
            field = f"{_PREFIX}.containers[{index}].dependsOn[{position}]"
            target = dependency.get("containerName")
            condition = dependency.get("condition")
            if target not in names:
                known = ", ".join(names) or "none"
                raise _refuse(
                    f"{field}.containerName", target, f"must name a container of the task ({known})"
                )
            if names[target] == index:
                raise _refuse(f"{field}.containerName", target, "is the container itself")
            if condition not in DEPENDENCY_CONDITIONS:
                raise _refuse(
                    f"{field}.condition", condition, f"must be one of {', '.join(DEPENDENCY_CONDITIONS)}"
                )
            if condition in EXITED_CONDITIONS and is_essential(containers[names[target]]):
                raise _refuse(
                    f"{field}.condition",
                    condition,
                    f"can't be set on an essential container ({target} is essential)",
                )
    cycle = _dependency_cycle(containers, names)
    if cycle:
        raise ClientException(
            f"{_PREFIX}.containers dependsOn forms a cycle ({' -> '.join(cycle)}); "
            "no container of it could start"
        )


def _dependency_cycle(containers: Sequence[Mapping[str, Any]], names: Mapping[str, int]) -> list[str]:
    edges = {
        index: [names[item["containerName"]] for item in container.get("dependsOn") or []]
        for index, container in enumerate(containers)
    }
    state: dict[int, str] = {}

    def visit(index: int, path: list[int]) -> list[int]:
        state[index] = "visiting"
        for target in edges[index]:
            if state.get(target) == "visiting":
                return [*path[path.index(target) :], target] if target in path else [index, target]
            if target not in state:
                found = visit(target, [*path, target])
                if found:
                    return found
        state[index] = "done"
        return []

    for start in edges:
        if start not in state:
            found = visit(start, [start])
            if found:
                return [container_name(containers[index]) for index in found]
    return []


def task_size(containers: Sequence[Mapping[str, Any]]) -> tuple[float, float, float]:
    """Return (vCPUs, MiB, GPUs) of a task: the sum over its containers."""
    return (
        sum(resource_value(container, "VCPU") or 0.0 for container in containers),
        sum(resource_value(container, "MEMORY") or 0.0 for container in containers),
        sum(resource_value(container, "GPU") or 0.0 for container in containers),
    )


def _format(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _check_task_resources(containers: Sequence[Mapping[str, Any]], fargate: bool) -> None:
    vcpus, memory, _ = task_size(containers)
    if vcpus <= 0:
        raise ClientException(
            f"{_PREFIX}.containers declare no VCPU in resourceRequirements; the task needs vCPUs"
        )
    if memory < MIN_JOB_MEMORY_MIB:
        raise _refuse(
            f"{_PREFIX}.containers MEMORY (sum over the containers)",
            _format(memory),
            f"must be at least {MIN_JOB_MEMORY_MIB} MiB for a job",
        )
    if fargate and int(memory) not in FARGATE_MEMORY_BY_VCPU.get(vcpus, frozenset()):
        pairs = "; ".join(
            f"{_format(cpu)} vCPU: {min(sizes)}-{max(sizes)} MiB"
            for cpu, sizes in FARGATE_MEMORY_BY_VCPU.items()
        )
        raise ClientException(
            f"{_PREFIX}.containers task size {_format(vcpus)} vCPU / {_format(memory)} MiB (the sum over "
            f"the containers) is not a Fargate vCPU/memory pair ({pairs}, in AWS's steps)"
        )


def ecs_properties_of(definition: Any) -> dict[str, Any] | None:
    """Return the ``ecsProperties`` of a stored job definition, or None for other kinds."""
    value = getattr(definition, "ecs_properties", None)
    return value if isinstance(value, dict) else None


# ------------------------------------------------------------------------------ submission


def check_ecs_submission(definition: Any, request: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
    """Raise ClientException unless SubmitJob's overrides fit the job definition's kind and AWS's rules."""
    ecs_properties = ecs_properties_of(definition)
    override = request.get("ecsPropertiesOverride")
    if ecs_properties is None:
        if override is not None:
            raise ClientException(
                f"ecsPropertiesOverride applies only to job definitions with ecsProperties; "
                f"{definition.name}:{definition.revision} has none"
            )
        return
    if request.get("containerOverrides") is not None:
        raise ClientException(
            f"containerOverrides can't be used with {definition.name}:{definition.revision}, which uses "
            "ecsProperties; override its containers with ecsPropertiesOverride"
        )
    if request.get("nodeOverrides") is not None:
        raise ClientException(
            f"nodeOverrides can't be used with {definition.name}:{definition.revision}, "
            "which uses ecsProperties"
        )
    if override is not None:
        _check_override(ecs_properties, override)
    fargate = FARGATE in (definition.platform_capabilities or [])
    containers = merged_task_containers(ecs_properties, override, parameters)
    for index, container in enumerate(containers):
        _check_resources(
            container.get("resourceRequirements") or [],
            f"{_PREFIX}.containers[{index}].resourceRequirements",
            fargate,
        )
    _check_task_resources(containers, fargate)


def _check_override(ecs_properties: Mapping[str, Any], override: Mapping[str, Any]) -> None:
    tasks = override.get("taskProperties") or []
    if len(tasks) > MAX_TASK_PROPERTIES:
        raise _refuse(
            "ecsPropertiesOverride.taskProperties",
            len(tasks),
            f"must hold at most {MAX_TASK_PROPERTIES} element",
        )
    containers = task_properties(ecs_properties).get("containers") or []
    names = {container_name(container) for container in containers}
    seen: set[str] = set()
    for index, item in enumerate((tasks[0] if tasks else {}).get("containers") or []):
        field = f"ecsPropertiesOverride.taskProperties[0].containers[{index}]"
        name = item.get("name")
        if name is None:
            if len(containers) > 1:
                raise ClientException(
                    f"{field}.name is missing: the job definition has {len(containers)} containers; "
                    "name the one to override"
                )
            name = container_name(containers[0])
        if name not in names:
            raise _refuse(
                f"{field}.name",
                name,
                f"names no container of the job definition ({', '.join(sorted(names))})",
            )
        if name in seen:
            raise _refuse(f"{field}.name", name, "is overridden twice")
        seen.add(name)
        command = item.get("command")
        if command is not None and any(part == "" for part in command):
            raise _refuse(f"{field}.command", command, "can't contain an empty string")
        _check_environment(item.get("environment") or [], f"{field}.environment")


def _overrides_by_name(
    containers: Sequence[Mapping[str, Any]], override: Mapping[str, Any] | None
) -> dict[str, Mapping[str, Any]]:
    tasks = (override or {}).get("taskProperties") or []
    items = (tasks[0] if tasks else {}).get("containers") or []
    by_name: dict[str, Mapping[str, Any]] = {}
    for item in items:
        name = item.get("name")
        if name is None and len(containers) == 1:
            name = container_name(containers[0])
        by_name[str(name)] = item
    return by_name


def merged_task_containers(
    ecs_properties: Mapping[str, Any], override: Mapping[str, Any] | None, parameters: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Return the task's containers with ``ecsPropertiesOverride`` and ``Ref::`` parameters applied."""
    containers = task_properties(ecs_properties).get("containers") or []
    overrides = _overrides_by_name(containers, override)
    merged = []
    for container in containers:
        item = overrides.get(container_name(container)) or {}
        relevant = {
            key: item[key] for key in ("command", "environment", "resourceRequirements") if key in item
        }
        merged.append(apply_container_overrides(container, relevant, parameters))
    return merged

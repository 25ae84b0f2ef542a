"""Work out the container a job really runs: definition, overrides and ``Ref::`` parameters merged."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

DEFAULT_LOG_GROUP = "/aws/batch/job"
#: The ECS container name of a container job, and of the one unnamed container of an ECS task.
DEFAULT_CONTAINER_NAME = "default"


def substitute_parameters(command: Sequence[str], parameters: Mapping[str, str]) -> list[str]:
    """Replace every ``Ref::name`` in ``command`` with its parameter value, in one pass."""
    if not parameters:
        return list(command)
    names = sorted(parameters, key=len, reverse=True)
    pattern = re.compile("Ref::(" + "|".join(re.escape(name) for name in names) + ")")
    return [pattern.sub(lambda match: str(parameters[match.group(1)]), part) for part in command]


def merge_name_values(base: Sequence[Mapping[str, Any]], override: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Merge two ``[{name, value}]`` lists; ``override`` wins, first-seen order is kept."""
    merged: dict[str, Any] = {}
    for item in [*base, *override]:
        merged[item["name"]] = item.get("value", "")
    return [{"name": name, "value": value} for name, value in merged.items()]


def merge_resource_requirements(
    base: Sequence[Mapping[str, Any]], override: Sequence[Mapping[str, Any]]
) -> list[dict]:
    """Merge two ``[{type, value}]`` lists; ``override`` wins per type."""
    merged: dict[str, str] = {}
    for item in [*base, *override]:
        merged[str(item["type"]).upper()] = str(item["value"])
    return [{"type": kind, "value": value} for kind, value in merged.items()]


def apply_container_overrides(
    properties: Mapping[str, Any], overrides: Mapping[str, Any] | None, parameters: Mapping[str, str]
) -> dict[str, Any]:
    """Return ``containerProperties`` with SubmitJob's ``containerOverrides`` and parameters applied."""
    merged = copy.deepcopy(dict(properties))
    overrides = overrides or {}
    if "command" in overrides:
        merged["command"] = list(overrides["command"])
    merged["environment"] = merge_name_values(
        merged.get("environment") or [], overrides.get("environment") or []
    )
    if merged.get("resourceRequirements") or overrides.get("resourceRequirements"):
        merged["resourceRequirements"] = merge_resource_requirements(
            merged.get("resourceRequirements") or [], overrides.get("resourceRequirements") or []
        )
    for legacy_key in ("vcpus", "memory", "instanceType"):
        if legacy_key in overrides:
            merged[legacy_key] = overrides[legacy_key]
    merged["command"] = substitute_parameters(merged.get("command") or [], parameters)
    return merged


def resource_value(properties: Mapping[str, Any], kind: str) -> float | None:
    """Return a container's VCPU, MEMORY or GPU requirement, from resourceRequirements or legacy keys."""
    for requirement in properties.get("resourceRequirements") or []:
        if str(requirement.get("type", "")).upper() == kind:
            return float(requirement["value"])
    legacy = {"VCPU": "vcpus", "MEMORY": "memory"}.get(kind)
    if legacy and properties.get(legacy) is not None:
        return float(properties[legacy])
    return None


def node_indexes(target_nodes: str, num_nodes: int) -> range:
    """Return the node indexes a ``targetNodes`` range (``"0"``, ``"1:"``, ``":3"``, ``"0:2"``) covers."""
    start, separator, end = target_nodes.partition(":")
    if not separator:
        return range(int(start), int(start) + 1)
    first = int(start) if start else 0
    last = int(end) if end else num_nodes - 1
    return range(first, last + 1)


def node_count(node_properties: Mapping[str, Any], node_overrides: Mapping[str, Any] | None) -> int:
    """Return how many nodes a multi-node job runs, after ``nodeOverrides.numNodes``."""
    overridden = (node_overrides or {}).get("numNodes")
    return int(overridden if overridden is not None else node_properties["numNodes"])


def node_container(
    node_properties: Mapping[str, Any],
    node_overrides: Mapping[str, Any] | None,
    node_index: int,
    parameters: Mapping[str, str],
) -> dict[str, Any]:
    """Return the container node ``node_index`` of a multi-node job runs, overrides applied."""
    num_nodes = node_count(node_properties, node_overrides)
    container: Mapping[str, Any] = {}
    for node_range in node_properties.get("nodeRangeProperties") or []:
        if node_index in node_indexes(node_range["targetNodes"], num_nodes):
            container = node_range.get("container") or {}
    overrides: dict[str, Any] = {}
    for node_override in (node_overrides or {}).get("nodePropertyOverrides") or []:
        if node_index in node_indexes(node_override["targetNodes"], num_nodes):
            overrides = node_override.get("containerOverrides") or {}
    return apply_container_overrides(container, overrides, parameters)


def _eks_container_override(
    overrides: Sequence[Mapping[str, Any]], container: Mapping[str, Any], index: int
) -> Mapping[str, Any]:
    """Return the override aimed at a container: by ``name`` when overrides name one, else by position."""
    named = [override for override in overrides if override.get("name")]
    if named:
        return next((item for item in named if item["name"] == container.get("name")), {})
    return overrides[index] if index < len(overrides) else {}


def eks_containers(
    eks_properties: Mapping[str, Any],
    eks_override: Mapping[str, Any] | None,
    parameters: Mapping[str, str],
    key: str = "containers",
) -> list[dict[str, Any]]:
    """Return the pod's ``containers`` (or ``initContainers``), ``eksPropertiesOverride`` applied."""
    base = (eks_properties.get("podProperties") or {}).get(key) or []
    overrides = ((eks_override or {}).get("podProperties") or {}).get(key) or []
    merged_containers = []
    for index, container in enumerate(base):
        merged = copy.deepcopy(dict(container))
        override = _eks_container_override(overrides, container, index)
        for field in ("command", "args", "image", "resources"):
            if field in override:
                merged[field] = copy.deepcopy(override[field])
        merged["env"] = merge_name_values(merged.get("env") or [], override.get("env") or [])
        merged["command"] = substitute_parameters(merged.get("command") or [], parameters)
        merged["args"] = substitute_parameters(merged.get("args") or [], parameters)
        merged_containers.append(merged)
    return merged_containers


def log_destination(properties: Mapping[str, Any], definition_name: str) -> tuple[str, str]:
    """Return the CloudWatch log group and stream prefix the awslogs driver would use."""
    log_configuration = properties.get("logConfiguration") or {}
    options = log_configuration.get("options") or {}
    if log_configuration.get("logDriver", "awslogs") != "awslogs":
        return DEFAULT_LOG_GROUP, definition_name
    return options.get("awslogs-group", DEFAULT_LOG_GROUP), options.get(
        "awslogs-stream-prefix", definition_name
    )


def awslogs_destination(
    properties: Mapping[str, Any], definition_name: str, task_arn: str
) -> tuple[str, str]:
    """Return the log group and stream of a container of an ECS task, as the awslogs driver names it.

    The stream is ``<prefix>/<container name>/<ECS task id>``; a container job's container (and an
    unnamed one) is ECS container ``default``.
    """
    group, prefix = log_destination(properties, definition_name)
    name = properties.get("name") or DEFAULT_CONTAINER_NAME
    return group, f"{prefix}/{name}/{task_arn.rsplit('/', 1)[-1]}"

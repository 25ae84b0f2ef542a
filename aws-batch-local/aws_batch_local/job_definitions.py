"""Job definitions: AWS Batch's registration rules, revisions, DescribeJobDefinitions, deregistration.

AWS's rules (API reference of RegisterJobDefinition and the shapes it names): a name of up to 128
letters, numbers, hyphens and underscores; ``type`` container or multinode; a container job
definition has exactly one of ``containerProperties``, ``eksProperties`` (Amazon EKS) and
``ecsProperties`` (ECS multi-container, checked by ``ecs_definitions``); a multinode one has
``nodeProperties`` and none of those, and doesn't run on Fargate; ``platformCapabilities`` are EC2
or FARGATE; ``schedulingPriority`` is 0..9999; ``retryStrategy.attempts`` 1..10 with at most 5
``evaluateOnExit`` rules; a container names an image, vCPUs above 0 and at least 4 MiB of memory.
Each registration of a name is its next revision (1, 2, ...), ACTIVE until deregistered
(INACTIVE, still described). AWS's minimum ``attemptDurationSeconds`` of 60 isn't enforced, so
tests and demos can time out quickly.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_batch_local.arns import job_definition_arn
from aws_batch_local.containers import resource_value
from aws_batch_local.ecs_definitions import check_ecs_registration
from aws_batch_local.errors import ClientException
from aws_batch_local.lifecycle import page
from aws_batch_local.retry import canonical_retry_strategy

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_batch_local.tags import TagStore

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
CONTAINER, MULTINODE = "container", "multinode"
ACTIVE, INACTIVE = "ACTIVE", "INACTIVE"
PLATFORM_CAPABILITIES = ("EC2", "FARGATE")
MAX_SCHEDULING_PRIORITY = 9999
MAX_ATTEMPTS = 10
MAX_EVALUATE_ON_EXIT = 5
MIN_MEMORY_MIB = 4
#: Lists AWS answers empty in a container's properties when the registration left them out.
CONTAINER_LIST_MEMBERS = (
    "command",
    "resourceRequirements",
    "secrets",
    "environment",
    "mountPoints",
    "ulimits",
    "volumes",
)
KINDS = ("containerProperties", "eksProperties", "ecsProperties")


@dataclass(eq=False)
class JobDefinition:
    """One revision of a job definition, as registered."""

    name: str
    revision: int
    arn: str
    type: str
    parameters: dict[str, str] = field(default_factory=dict)
    container_properties: dict[str, Any] | None = None
    node_properties: dict[str, Any] | None = None
    eks_properties: dict[str, Any] | None = None
    ecs_properties: dict[str, Any] | None = None
    retry_strategy: dict[str, Any] | None = None
    timeout: dict[str, Any] | None = None
    platform_capabilities: list[str] | None = None
    propagate_tags: bool | None = None
    scheduling_priority: int | None = None
    status: str = ACTIVE
    #: The ECS task definitions registered behind this revision (``ecs_task_definitions``).
    task_definition_arns: list[str | None] = field(default_factory=list)

    @property
    def orchestration(self) -> str:
        """Return ECS or EKS."""
        return "EKS" if self.eks_properties is not None else "ECS"

    def describe(self, tags: dict[str, str]) -> dict[str, Any]:
        """Return the JobDefinition shape DescribeJobDefinitions answers with."""
        detail: dict[str, Any] = {
            "jobDefinitionName": self.name,
            "jobDefinitionArn": self.arn,
            "revision": self.revision,
            "status": self.status,
            "type": self.type,
            "parameters": dict(self.parameters),
            "tags": tags,
            "containerOrchestrationType": self.orchestration,
        }
        optional = {
            "schedulingPriority": self.scheduling_priority,
            "retryStrategy": self.retry_strategy,
            "containerProperties": self.container_properties,
            "timeout": self.timeout,
            "nodeProperties": self.node_properties,
            "propagateTags": self.propagate_tags,
            "platformCapabilities": self.platform_capabilities,
            "ecsProperties": self.ecs_properties,
            "eksProperties": self.eks_properties,
        }
        detail.update({key: copy.deepcopy(value) for key, value in optional.items() if value is not None})
        return detail


# ------------------------------------------------------------------------------ the rules


def _check_container(container: Any, field_name: str) -> None:
    if not isinstance(container, dict):
        raise ClientException(f"{field_name} must be an object")
    if not container.get("image"):
        raise ClientException(f"{field_name}.image is required")
    memory = resource_value(container, "MEMORY")
    if memory is None:
        raise ClientException(f"{field_name} must declare MEMORY in resourceRequirements (or memory)")
    if memory < MIN_MEMORY_MIB:
        raise ClientException(f"{field_name} memory must be at least {MIN_MEMORY_MIB} MiB, got {memory:g}")
    vcpus = resource_value(container, "VCPU")
    if vcpus is None:
        raise ClientException(f"{field_name} must declare VCPU in resourceRequirements (or vcpus)")
    if vcpus <= 0:
        raise ClientException(f"{field_name} vCPUs must be greater than 0, got {vcpus:g}")


def _check_eks(properties: Any, field_name: str) -> None:
    containers = (
        ((properties or {}).get("podProperties") or {}).get("containers")
        if isinstance(properties, dict)
        else None
    )
    if not containers:
        raise ClientException(f"{field_name}.podProperties.containers must hold at least one container")
    for index, container in enumerate(containers):
        if not container.get("image"):
            raise ClientException(f"{field_name}.podProperties.containers[{index}].image is required")


def _check_nodes(properties: Any) -> None:
    if not isinstance(properties, dict) or not properties.get("nodeRangeProperties"):
        raise ClientException(
            "nodeProperties with nodeRangeProperties is required for a multinode job definition"
        )
    count = properties.get("numNodes")
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ClientException(f"nodeProperties.numNodes must be a positive integer, got {count!r}")
    main = properties.get("mainNode")
    if isinstance(main, bool) or not isinstance(main, int) or not 0 <= main < count:
        raise ClientException(f"nodeProperties.mainNode must be a node index below numNodes, got {main!r}")
    for index, node_range in enumerate(properties["nodeRangeProperties"]):
        if not node_range.get("targetNodes"):
            raise ClientException(f"nodeProperties.nodeRangeProperties[{index}].targetNodes is required")
        if node_range.get("container") is not None:
            _check_container(
                node_range["container"], f"nodeProperties.nodeRangeProperties[{index}].container"
            )
        elif node_range.get("eksProperties") is not None:
            _check_eks(
                node_range["eksProperties"], f"nodeProperties.nodeRangeProperties[{index}].eksProperties"
            )


def _check_retry_strategy(strategy: Any) -> None:
    if strategy is None:
        return
    attempts = strategy.get("attempts")
    if attempts is not None and not 1 <= int(attempts) <= MAX_ATTEMPTS:
        raise ClientException(f"retryStrategy.attempts must be between 1 and {MAX_ATTEMPTS}, got {attempts}")
    if len(strategy.get("evaluateOnExit") or []) > MAX_EVALUATE_ON_EXIT:
        raise ClientException(f"retryStrategy.evaluateOnExit can hold at most {MAX_EVALUATE_ON_EXIT} rules")


def check_registration(body: Mapping[str, Any]) -> None:
    """Raise ClientException unless a RegisterJobDefinition body follows AWS's rules."""
    name = str(body.get("jobDefinitionName") or "")
    if NAME_PATTERN.match(name) is None:
        raise ClientException(
            f"jobDefinitionName {name!r} must be 1 to 128 letters, numbers, hyphens and underscores"
        )
    kind = body.get("type")
    if kind not in (CONTAINER, MULTINODE):
        raise ClientException(f"type must be one of {CONTAINER} | {MULTINODE}, got {kind}")
    capabilities = body.get("platformCapabilities") or []
    for capability in capabilities:
        if capability not in PLATFORM_CAPABILITIES:
            raise ClientException(f"platformCapabilities must be EC2 or FARGATE, got {capability}")
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ClientException("parameters must be a string to string map")
    given = [key for key in KINDS if body.get(key) is not None]
    if body.get("ecsProperties") is not None:
        check_ecs_registration(body)
    elif kind == MULTINODE:
        if given:
            raise ClientException(
                f"{given[0]} can't be used in a multinode job definition; use nodeProperties"
            )
        if "FARGATE" in capabilities:
            raise ClientException("Multi-node parallel jobs aren't supported on Fargate resources")
        _check_nodes(body.get("nodeProperties"))
    else:
        if body.get("nodeProperties") is not None:
            raise ClientException("nodeProperties can be used only in a multinode job definition")
        if len(given) != 1:
            raise ClientException(
                "A container job definition needs exactly one of containerProperties, eksProperties "
                "and ecsProperties"
            )
        if body.get("containerProperties") is not None:
            _check_container(body["containerProperties"], "containerProperties")
        else:
            _check_eks(body["eksProperties"], "eksProperties")
    priority = body.get("schedulingPriority")
    if priority is not None and not 0 <= int(priority) <= MAX_SCHEDULING_PRIORITY:
        raise ClientException(
            f"schedulingPriority must be between 0 and {MAX_SCHEDULING_PRIORITY}, got {priority}"
        )
    _check_retry_strategy(body.get("retryStrategy"))


def _container_as_described(container: Mapping[str, Any], fargate: bool) -> dict[str, Any]:
    described = copy.deepcopy(dict(container))
    for key in CONTAINER_LIST_MEMBERS:
        described.setdefault(key, [])
    if fargate:
        described.setdefault("fargatePlatformConfiguration", {"platformVersion": "LATEST"})
    return described


def _eks_as_described(properties: Mapping[str, Any]) -> dict[str, Any]:
    described = copy.deepcopy(dict(properties))
    for container in (described.get("podProperties") or {}).get("containers") or []:
        container.setdefault("command", [])
        container.setdefault("env", [])
    return described


# ------------------------------------------------------------------------------ the store


class JobDefinitions:
    """Every revision of every job definition of one region, in registration order."""

    def __init__(self, account_id: str, region_name: str, tags: TagStore) -> None:
        self._account_id = account_id
        self._region_name = region_name
        self._tags = tags
        self._all: list[JobDefinition] = []
        self._by_arn: dict[str, JobDefinition] = {}

    def register(self, body: Mapping[str, Any]) -> JobDefinition:
        """Check a RegisterJobDefinition body and store it as the next revision of its name."""
        check_registration(body)
        name = str(body["jobDefinitionName"])
        revision = 1 + max((item.revision for item in self._all if item.name == name), default=0)
        fargate = "FARGATE" in (body.get("platformCapabilities") or [])
        container = body.get("containerProperties")
        eks = body.get("eksProperties")
        priority = body.get("schedulingPriority")
        definition = JobDefinition(
            name=name,
            revision=revision,
            arn=job_definition_arn(self._account_id, self._region_name, name, revision),
            type=str(body["type"]),
            parameters={str(k): str(v) for k, v in (body.get("parameters") or {}).items()},
            container_properties=_container_as_described(container, fargate)
            if container is not None
            else None,
            node_properties=copy.deepcopy(body.get("nodeProperties")),
            eks_properties=_eks_as_described(eks) if eks is not None else None,
            ecs_properties=copy.deepcopy(body.get("ecsProperties")),
            retry_strategy=canonical_retry_strategy(body["retryStrategy"])
            if body.get("retryStrategy")
            else None,
            timeout=copy.deepcopy(body.get("timeout")),
            platform_capabilities=list(body["platformCapabilities"])
            if body.get("platformCapabilities")
            else None,
            propagate_tags=body.get("propagateTags"),
            scheduling_priority=None if priority is None else int(priority),
        )
        if body.get("tags"):
            self._tags.tag(definition.arn, dict(body["tags"]))
        self._all.append(definition)
        self._by_arn[definition.arn] = definition
        return definition

    def get(self, identifier: str) -> JobDefinition | None:
        """Return the revision an ARN or ``name:revision`` names, or a name's latest ACTIVE revision."""
        if identifier.startswith("arn:"):
            return self._by_arn.get(identifier)
        name, _, revision = identifier.partition(":")
        if revision:
            return next(
                (item for item in self._all if item.name == name and str(item.revision) == revision), None
            )
        active = [item for item in self._all if item.name == name and item.status == ACTIVE]
        return max(active, key=lambda item: item.revision, default=None)

    def deregister(self, identifier: str) -> None:
        """Make a revision (ARN or ``name:revision``) INACTIVE."""
        if not identifier:
            raise ClientException("'jobDefinition' is a required field (cannot be an empty string)")
        definition = self.get(identifier) if ":" in identifier else None
        if definition is None:
            raise ClientException(f"Job definition {identifier} does not exist")
        definition.status = INACTIVE

    def describe(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """Answer DescribeJobDefinitions: filter by ``jobDefinitions``, name and status; one page."""
        wanted = request.get("jobDefinitions") or []
        name = request.get("jobDefinitionName")
        status = request.get("status")
        found = [
            item
            for item in self._all
            if (not wanted or any(_selects(identifier, item) for identifier in wanted))
            and (not name or item.name == name)
            and (not status or item.status == status)
        ]
        chunk, token = page(found, dict(request))
        answer: dict[str, Any] = {
            "jobDefinitions": [item.describe(self._tags.of(item.arn)) for item in chunk]
        }
        if token:
            answer["nextToken"] = token
        return answer


def _selects(identifier: str, definition: JobDefinition) -> bool:
    if identifier.startswith("arn:"):
        return identifier == definition.arn
    name, _, revision = identifier.partition(":")
    return definition.name == name and (not revision or str(definition.revision) == revision)

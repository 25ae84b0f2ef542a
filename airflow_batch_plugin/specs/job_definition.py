"""Describe an AWS Batch job definition (RegisterJobDefinition) and check it against AWS's rules.

A job definition holds exactly one of: a container (EC2, Spot or Fargate), an ECS task of up to
ten containers (``ecsProperties``), an EKS pod, or the node ranges of a multi-node parallel job.
:meth:`JobDefinitionSpec.to_request` gives the keyword arguments of boto3's
``register_job_definition``; :meth:`JobDefinitionSpec.content_hash` is a stable digest of that
request, used to reuse an identical ACTIVE revision.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_batch_plugin.specs.common import (
    JOB_DEFINITION_NAME,
    JOB_DEFINITION_NAME_RULE,
    BatchSpec,
    RetryStrategy,
    SpecContext,
    check_bool,
    check_str_map,
    check_timeout,
    coerce_retry_strategy,
    coerce_spec,
    deferred_validation,
    normalize_str_map,
    request_of,
    timeout_request,
    to_int,
    to_upper,
)
from airflow_batch_plugin.specs.container import ContainerSpec
from airflow_batch_plugin.specs.ecs import EcsTaskSpec, TaskContainerSpec, coerce_ecs_task
from airflow_batch_plugin.specs.eks import EksContainer, EksSpec
from airflow_batch_plugin.specs.extra_fields import (
    RequestModel,
    check_extra_fields,
    own_request_or_none,
    with_extra_fields,
)
from airflow_batch_plugin.specs.validation import Checker, drop_none, is_unresolved

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "MAX_JOB_DEFINITION_BYTES",
    "ContainerSpec",
    "EcsTaskSpec",
    "EksSpec",
    "JobDefinitionSpec",
    "NodeRange",
    "NodeSpec",
]

#: AWS Batch's limit on the size of a RegisterJobDefinition request (24 KiB).
MAX_JOB_DEFINITION_BYTES = 24 * 1024
#: Tag recording the content hash of the spec a revision was registered from (added by the hook).
SPEC_HASH_TAG = "airflow-batch-plugin:spec-hash"
#: Tag with a token unique to one registration, so a revision whose answer was lost is recognised
#: (added by the hook).
REGISTER_TOKEN_TAG = "airflow-batch-plugin:register-token"
#: The tags the hook adds to every revision it registers: a spec leaves room for them among AWS's 50.
DEFINITION_TAGS_ADDED = (SPEC_HASH_TAG, REGISTER_TOKEN_TAG)
PLATFORMS = ("EC2", "FARGATE")
_TARGET_NODES = re.compile(r"(\d*):(\d*)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeRange(BatchSpec):
    """Give a range of nodes of a multi-node parallel job its container.

    :param target_nodes: ``"start:end"``, both inclusive; ``":end"`` starts at 0 and ``"start:"``
        runs to the last node. Ranges may nest: the narrower range wins for its nodes.
    :param container: the :class:`ContainerSpec` (or dict) for these nodes.
    """

    target_nodes: str
    container: ContainerSpec | Mapping[str, Any]

    def _normalize(self, c: Checker) -> None:
        self._replace_field("container", coerce_spec(c, "container", self.container, ContainerSpec))

    def bounds(self, num_nodes: int) -> tuple[int, int] | None:
        """Return the first and last node index of the range, or None when it cannot be parsed."""
        match = _TARGET_NODES.fullmatch(self.target_nodes) if isinstance(self.target_nodes, str) else None
        if match is None:
            return None
        start = int(match.group(1)) if match.group(1) else 0
        end = int(match.group(2)) if match.group(2) else num_nodes - 1
        return start, end

    def _check(self, c: Checker, context: SpecContext) -> None:
        c.pattern(
            "target_nodes",
            self.target_nodes,
            _TARGET_NODES,
            'must be a node index range "start:end" (either side may be omitted, e.g. "0:", "1:3")',
        )
        if isinstance(self.container, ContainerSpec):
            self.container.check_into(c.at("container"), dataclasses.replace(context, multinode=True))

    def to_request(self) -> dict[str, Any]:
        return {"targetNodes": self.target_nodes, "container": request_of(self.container)}


def _node_range_from_pair(value: Any) -> NodeRange | None:
    if isinstance(value, tuple) and len(value) == 2:
        with deferred_validation():
            return NodeRange(target_nodes=value[0], container=value[1])
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class NodeSpec(BatchSpec):
    """Describe the nodes of a multi-node parallel job (EC2 only).

    :param num_nodes: how many nodes the job runs on.
    :param main_node: index of the main node, below ``num_nodes``.
    :param node_range_properties: :class:`NodeRange` list (or dicts, or ``(target_nodes,
        container)`` pairs) that together cover every node ``0..num_nodes-1``.
    """

    num_nodes: int
    node_range_properties: Sequence[NodeRange | Mapping[str, Any] | tuple[str, Any]]
    main_node: int = 0

    def _normalize(self, c: Checker) -> None:
        self._replace_field("num_nodes", to_int(self.num_nodes))
        self._replace_field("main_node", to_int(self.main_node))
        ranges = self.node_range_properties
        if isinstance(ranges, (list, tuple)):
            converted = [
                coerce_spec(
                    c, f"node_range_properties[{index}]", item, NodeRange, from_scalar=_node_range_from_pair
                )
                for index, item in enumerate(ranges)
            ]
            self._replace_field("node_range_properties", converted)
        else:
            c.fail("node_range_properties", ranges, "must be a list of NodeRange")

    def _check(self, c: Checker, context: SpecContext) -> None:
        c.int_range("num_nodes", self.num_nodes, 1, None)
        c.int_range("main_node", self.main_node, 0, None)
        num_nodes = self.num_nodes if isinstance(self.num_nodes, int) and self.num_nodes >= 1 else None
        if num_nodes is not None and isinstance(self.main_node, int):
            c.check(
                self.main_node < num_nodes,
                "main_node",
                self.main_node,
                f"must be below num_nodes ({num_nodes}): node indexes run from 0 to {num_nodes - 1}",
            )
        ranges = self.node_range_properties
        if not isinstance(ranges, list):
            return
        c.check(bool(ranges), "node_range_properties", ranges, "give at least one node range")
        covered: set[int] = set()
        instance_types: dict[str, int] = {}
        for index, node_range in enumerate(ranges):
            if not isinstance(node_range, NodeRange):
                continue
            path = f"node_range_properties[{index}]"
            node_range.check_into(c.at(path), context)
            container = node_range.container
            if isinstance(container, ContainerSpec) and isinstance(container.instance_type, str):
                instance_types.setdefault(container.instance_type, index)
            bounds = node_range.bounds(num_nodes or 0)
            if bounds is None or num_nodes is None:
                continue
            start, end = bounds
            if not c.check(
                start <= end,
                f"{path}.target_nodes",
                node_range.target_nodes,
                "the range start must not be after its end",
            ):
                continue
            in_range = c.check(
                end <= num_nodes - 1,
                f"{path}.target_nodes",
                node_range.target_nodes,
                f"must stay within nodes 0 to {num_nodes - 1} (num_nodes={num_nodes})",
            )
            if in_range:
                covered.update(range(start, end + 1))
        if num_nodes is not None and ranges:
            missing = sorted(set(range(num_nodes)) - covered)
            c.check(
                not missing,
                "node_range_properties",
                f"<nodes {_ranges_text(missing)} uncovered>",
                f"the node ranges must cover every node 0 to {num_nodes - 1}; no range covers "
                f"node(s) {_ranges_text(missing)}",
            )
        if len(instance_types) > 1:
            c.fail(
                "node_range_properties",
                sorted(instance_types),
                "every node range must use the same instance_type (AWS rule for multi-node jobs)",
            )

    def to_request(self) -> dict[str, Any]:
        return {
            "numNodes": self.num_nodes,
            "mainNode": self.main_node,
            "nodeRangeProperties": [request_of(item) for item in self.node_range_properties],
        }


def _ranges_text(indexes: list[int]) -> str:
    """Render ``[0, 1, 2, 5]`` as ``"0-2, 5"``."""
    parts: list[str] = []
    for index in indexes:
        if parts and parts[-1].split("-")[-1] == str(index - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{index}"
        else:
            parts.append(str(index))
    return ", ".join(parts)


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobDefinitionSpec(BatchSpec):
    """Describe a job definition to register: a container, ECS multi-container, EKS or multi-node job.

    :param name: up to 128 letters, numbers, hyphens and underscores.
    :param container: a :class:`ContainerSpec` for a single-node ECS job (EC2, Spot or Fargate).
    :param ecs: an :class:`EcsTaskSpec` for an ECS job of 1 to 10 containers (AWS's
        ``ecsProperties``; its one element of ``taskProperties``), on EC2, Spot or Fargate. AWS's
        wrapper ``{"taskProperties": [task]}`` is accepted too, the task's fields named as
        :class:`EcsTaskSpec` and :class:`TaskContainerSpec` name them (snake_case or camelCase).
    :param eks: an :class:`EksSpec` for a job on an EKS compute environment.
    :param node: a :class:`NodeSpec` for a multi-node parallel job (EC2 only).

    Nested specs may also be given as dicts of their fields (snake_case or AWS's camelCase); then
    every problem, nested or not, is reported at once with its full path.
    :param parameters: default values of the ``Ref::name`` placeholders of the command.
    :param retry_strategy: a :class:`RetryStrategy`, or just the number of attempts (1 to 10).
    :param timeout_seconds: per-attempt timeout, at least 60 seconds.
    :param tags: up to 50 tags.
    :param propagate_tags: copy the job and definition tags to the ECS task (not for EKS).
    :param platform: ``"EC2"`` (AWS's default) or ``"FARGATE"``; not for EKS.
    :param scheduling_priority: 0 to 9999, for fair-share job queues.
    :param extra_request_fields: RegisterJobDefinition members the spec does not model yet, in
        AWS's shape (e.g. ``{"consumableResourceProperties": {...}}``), deep-merged into the
        request and checked by botocore's parameter validation; a member the spec sets (or, at
        the top level, models) is refused. See :mod:`airflow_batch_plugin.specs.extra_fields`.
        They count in :meth:`content_hash`.
    """

    #: What the spec models of RegisterJobDefinition: request member -> spec field.
    _REQUEST_MODEL: ClassVar[RequestModel] = RequestModel(
        "RegisterJobDefinition",
        {
            "jobDefinitionName": "name",
            "type": "container, ecs, eks or node (the job kind)",
            "parameters": "parameters",
            "schedulingPriority": "scheduling_priority",
            "containerProperties": "container",
            "nodeProperties": "node",
            "retryStrategy": "retry_strategy",
            "propagateTags": "propagate_tags",
            "timeout": "timeout_seconds",
            "tags": "tags",
            "platformCapabilities": "platform",
            "eksProperties": "eks",
            "ecsProperties": "ecs",
        },
    )

    name: str
    container: ContainerSpec | Mapping[str, Any] | None = None
    ecs: EcsTaskSpec | Mapping[str, Any] | None = None
    eks: EksSpec | Mapping[str, Any] | None = None
    node: NodeSpec | Mapping[str, Any] | None = None
    parameters: Mapping[str, str] | None = None
    retry_strategy: RetryStrategy | int | None = None
    timeout_seconds: int | None = None
    tags: Mapping[str, str] | None = None
    propagate_tags: bool | None = None
    platform: str | None = None
    scheduling_priority: int | None = None
    extra_request_fields: Mapping[str, Any] | None = None

    # -- construction helpers ------------------------------------------------------------------

    @classmethod
    def container_job(
        cls,
        name: str,
        image: str,
        *,
        command: Sequence[str] | None = None,
        vcpus: float | str = 1,
        memory: int | str = 2048,
        environment: Mapping[str, str] | None = None,
        platform: str = "EC2",
        parameters: Mapping[str, str] | None = None,
        retry_strategy: RetryStrategy | int | None = None,
        timeout_seconds: int | None = None,
        tags: Mapping[str, str] | None = None,
        propagate_tags: bool | None = None,
        scheduling_priority: int | None = None,
        extra_request_fields: Mapping[str, Any] | None = None,
        **container: Any,
    ) -> JobDefinitionSpec:
        """Describe a single-container job; extra keywords are :class:`ContainerSpec` fields.

        Example: ``JobDefinitionSpec.container_job("etl", "python:3.12", command=["python",
        "-m", "etl"], vcpus=2, memory=4096, environment={"STAGE": "prod"})``.
        """
        with deferred_validation():
            spec = ContainerSpec(
                image=image, command=command, vcpus=vcpus, memory=memory, environment=environment, **container
            )
        return cls(
            name=name,
            container=spec,
            platform=platform,
            parameters=parameters,
            retry_strategy=retry_strategy,
            timeout_seconds=timeout_seconds,
            tags=tags,
            propagate_tags=propagate_tags,
            scheduling_priority=scheduling_priority,
            extra_request_fields=extra_request_fields,
        )

    @classmethod
    def fargate_job(
        cls,
        name: str,
        image: str,
        *,
        execution_role_arn: str,
        command: Sequence[str] | None = None,
        vcpus: float | str = 0.25,
        memory: int | str = 512,
        **more: Any,
    ) -> JobDefinitionSpec:
        """Describe a single-container Fargate job; other keywords as :meth:`container_job`."""
        return cls.container_job(
            name,
            image,
            command=command,
            vcpus=vcpus,
            memory=memory,
            platform="FARGATE",
            execution_role_arn=execution_role_arn,
            **more,
        )

    @classmethod
    def ecs_job(
        cls,
        name: str,
        containers: Sequence[TaskContainerSpec | Mapping[str, Any]],
        *,
        platform: str = "EC2",
        execution_role_arn: str | None = None,
        task_role_arn: str | None = None,
        parameters: Mapping[str, str] | None = None,
        retry_strategy: RetryStrategy | int | None = None,
        timeout_seconds: int | None = None,
        tags: Mapping[str, str] | None = None,
        propagate_tags: bool | None = None,
        scheduling_priority: int | None = None,
        extra_request_fields: Mapping[str, Any] | None = None,
        **task: Any,
    ) -> JobDefinitionSpec:
        """Describe an ECS job of 1 to 10 containers; extra keywords are :class:`EcsTaskSpec` fields.

        Example: ``JobDefinitionSpec.ecs_job("etl", [{"name": "app", "image": "python:3.12",
        "command": ["python", "-m", "etl"], "vcpus": 1, "memory": 2048, "depends_on": ["proxy"]},
        {"name": "proxy", "image": "envoyproxy/envoy:v1.31", "essential": False, "vcpus": 1,
        "memory": 512}])``. On Fargate (``platform="FARGATE"``, ``execution_role_arn`` required)
        the containers' vCPUs and memory add up to one of Fargate's vCPU/memory pairs.
        """
        with deferred_validation():
            spec = EcsTaskSpec(
                containers=containers,
                execution_role_arn=execution_role_arn,
                task_role_arn=task_role_arn,
                **task,
            )
        return cls(
            name=name,
            ecs=spec,
            platform=platform,
            parameters=parameters,
            retry_strategy=retry_strategy,
            timeout_seconds=timeout_seconds,
            tags=tags,
            propagate_tags=propagate_tags,
            scheduling_priority=scheduling_priority,
            extra_request_fields=extra_request_fields,
        )

    @classmethod
    def eks_job(
        cls,
        name: str,
        image: str,
        *,
        command: Sequence[str] | None = None,
        args: Sequence[str] | None = None,
        cpu: float | str = 1,
        memory: int | str = 2048,
        gpus: int | None = None,
        env: Mapping[str, str] | None = None,
        service_account_name: str | None = None,
        namespace: str | None = None,
        parameters: Mapping[str, str] | None = None,
        retry_strategy: RetryStrategy | int | None = None,
        timeout_seconds: int | None = None,
        tags: Mapping[str, str] | None = None,
        scheduling_priority: int | None = None,
        extra_request_fields: Mapping[str, Any] | None = None,
    ) -> JobDefinitionSpec:
        """Describe a one-container job on EKS; ``cpu``, ``memory`` (MiB) and ``gpus`` become limits."""
        limits: dict[str, Any] = {"cpu": cpu, "memory": memory}
        if gpus:
            limits["nvidia.com/gpu"] = gpus
        with deferred_validation():
            container = EksContainer(image=image, command=command, args=args, env=env, limits=limits)
            pod = EksSpec(
                containers=[container], service_account_name=service_account_name, namespace=namespace
            )
        return cls(
            name=name,
            eks=pod,
            parameters=parameters,
            retry_strategy=retry_strategy,
            timeout_seconds=timeout_seconds,
            tags=tags,
            scheduling_priority=scheduling_priority,
            extra_request_fields=extra_request_fields,
        )

    @classmethod
    def multinode_job(
        cls,
        name: str,
        image: str,
        *,
        num_nodes: int,
        vcpus: float | str,
        memory: int | str,
        command: Sequence[str] | None = None,
        main_node: int = 0,
        instance_type: str | None = None,
        parameters: Mapping[str, str] | None = None,
        retry_strategy: RetryStrategy | int | None = None,
        timeout_seconds: int | None = None,
        tags: Mapping[str, str] | None = None,
        propagate_tags: bool | None = None,
        scheduling_priority: int | None = None,
        extra_request_fields: Mapping[str, Any] | None = None,
        **container: Any,
    ) -> JobDefinitionSpec:
        """Describe a multi-node parallel job whose nodes all run the same container (range ``0:``)."""
        with deferred_validation():
            spec = ContainerSpec(
                image=image,
                command=command,
                vcpus=vcpus,
                memory=memory,
                instance_type=instance_type,
                **container,
            )
            nodes = NodeSpec(
                num_nodes=num_nodes,
                main_node=main_node,
                node_range_properties=[NodeRange(target_nodes="0:", container=spec)],
            )
        return cls(
            name=name,
            node=nodes,
            parameters=parameters,
            retry_strategy=retry_strategy,
            timeout_seconds=timeout_seconds,
            tags=tags,
            propagate_tags=propagate_tags,
            scheduling_priority=scheduling_priority,
            extra_request_fields=extra_request_fields,
        )

    # -- validation ------------------------------------------------------------------------------

    @property
    def job_type(self) -> str:
        """AWS's job definition ``type``: ``"multinode"`` for node properties, else ``"container"``."""
        return "multinode" if self.node is not None else "container"

    def _normalize(self, c: Checker) -> None:
        self._replace_field("container", coerce_spec(c, "container", self.container, ContainerSpec))
        self._replace_field("ecs", coerce_ecs_task(c, "ecs", self.ecs))
        self._replace_field("eks", coerce_spec(c, "eks", self.eks, EksSpec))
        self._replace_field("node", coerce_spec(c, "node", self.node, NodeSpec))
        self._replace_field("parameters", normalize_str_map(c, "parameters", self.parameters))
        self._replace_field("retry_strategy", coerce_retry_strategy(c, "retry_strategy", self.retry_strategy))
        self._replace_field("timeout_seconds", to_int(self.timeout_seconds))
        self._replace_field("scheduling_priority", to_int(self.scheduling_priority))
        self._replace_field("platform", to_upper(self.platform))

    def _check(self, c: Checker, context: SpecContext) -> None:
        if isinstance(self.name, str):
            c.pattern("name", self.name, JOB_DEFINITION_NAME, JOB_DEFINITION_NAME_RULE)
        else:
            c.fail("name", self.name, JOB_DEFINITION_NAME_RULE)
        kinds = [k for k in ("container", "ecs", "eks", "node") if getattr(self, k) is not None]
        if not kinds:
            c.fail("container", None, "give exactly one of container, ecs, eks or node (none given)")
        elif len(kinds) > 1:
            c.fail(
                kinds[1],
                "<set>",
                f"give exactly one of container, ecs, eks or node (got {' and '.join(kinds)})",
            )
        platform = self.platform
        if platform is not None and not is_unresolved(platform):
            c.check(platform in PLATFORMS, "platform", platform, "must be EC2 or FARGATE")
        # A templated platform is only known after rendering: check what holds on both.
        ecs_platform = None if is_unresolved(platform) else "FARGATE" if platform == "FARGATE" else "EC2"
        if isinstance(self.container, ContainerSpec):
            self.container.check_into(c.at("container"), SpecContext(platform=ecs_platform))
        if isinstance(self.ecs, EcsTaskSpec):
            self.ecs.check_into(c.at("ecs"), SpecContext(platform=ecs_platform))
        if self.eks is not None:
            c.check(
                platform is None,
                "platform",
                platform,
                "must not be set for EKS job definitions (platform capabilities are for ECS)",
            )
            c.check(
                self.propagate_tags is None,
                "propagate_tags",
                self.propagate_tags,
                "must not be set for EKS job definitions",
            )
            if isinstance(self.eks, EksSpec):
                self.eks.check_into(c.at("eks"), SpecContext())
        if self.node is not None:
            c.check(
                platform != "FARGATE",
                "platform",
                platform,
                "multi-node parallel jobs do not run on Fargate",
            )
            if isinstance(self.node, NodeSpec):
                self.node.check_into(c.at("node"), SpecContext(platform="EC2", multinode=True))
        check_str_map(c, "parameters", self.parameters, "parameter")
        if isinstance(self.retry_strategy, RetryStrategy):
            self.retry_strategy.check_into(c.at("retry_strategy"), context)
        check_timeout(c, "timeout_seconds", self.timeout_seconds)
        c.tags("tags", self.tags, added=DEFINITION_TAGS_ADDED)
        check_bool(c, "propagate_tags", self.propagate_tags)
        c.int_range("scheduling_priority", self.scheduling_priority, 0, 9999)
        check_extra_fields(
            c, self.extra_request_fields, own_request_or_none(self._own_request), self._REQUEST_MODEL
        )
        if not c.problems:
            c.json_size(
                "",
                self.to_request(),
                MAX_JOB_DEFINITION_BYTES,
                "the RegisterJobDefinition request (AWS's job definition size limit is 24 KiB)",
            )

    # -- request -------------------------------------------------------------------------------

    def to_request(self) -> dict[str, Any]:
        """Return the keyword arguments of boto3's ``batch.register_job_definition``.

        ``extra_request_fields`` are merged in; where one collides, the spec's value stays.
        """
        return with_extra_fields(self._own_request(), self.extra_request_fields, self._REQUEST_MODEL)

    def _own_request(self) -> dict[str, Any]:
        """Return the request the spec's own fields make (without ``extra_request_fields``)."""
        platform = self.platform
        return drop_none(
            {
                "jobDefinitionName": self.name,
                "type": self.job_type,
                "parameters": dict(self.parameters) if self.parameters else None,
                "schedulingPriority": self.scheduling_priority,
                "containerProperties": request_of(self.container),
                "nodeProperties": request_of(self.node),
                "retryStrategy": request_of(self.retry_strategy),
                "propagateTags": self.propagate_tags,
                "timeout": timeout_request(self.timeout_seconds),
                "tags": dict(self.tags) if self.tags else None,
                "platformCapabilities": None if platform is None else [platform],
                "eksProperties": request_of(self.eks),
                "ecsProperties": None if self.ecs is None else {"taskProperties": [request_of(self.ecs)]},
            }
        )

    def content_hash(self) -> str:
        """Return the SHA-256 hex digest of the request as canonical JSON (sorted keys).

        Equal specs give equal hashes in any process; any change to the request (extra request
        fields included) changes it.
        """
        canonical = json.dumps(self.to_request(), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

"""Describe an AWS Batch job submission (SubmitJob) and check it against AWS's rules."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from airflow_batch_plugin.specs.common import (
    JOB_NAME,
    JOB_NAME_RULE,
    BatchSpec,
    RetryStrategy,
    SpecContext,
    camel_to_snake,
    check_bool,
    check_choice,
    check_environment,
    check_non_empty,
    check_not_secrets,
    check_plaintext_secrets,
    check_str_list,
    check_str_map,
    check_timeout,
    coerce_retry_strategy,
    coerce_spec,
    coerce_spec_list,
    deferred_validation,
    environment_request,
    format_number,
    is_number,
    normalize_str_list,
    normalize_str_map,
    request_of,
    timeout_request,
    to_int,
    to_number,
    to_upper,
)
from airflow_batch_plugin.specs.container import fargate_pair_rule
from airflow_batch_plugin.specs.ecs import EcsTaskSpec, TaskContainerSpec, resource_requirements, total
from airflow_batch_plugin.specs.extra_fields import (
    RequestModel,
    check_extra_fields,
    own_request_or_none,
    with_extra_fields,
)
from airflow_batch_plugin.specs.job_definition import JobDefinitionSpec
from airflow_batch_plugin.specs.validation import Checker, drop_none, is_unresolved

__all__ = [
    "MAX_CONTAINER_OVERRIDES_BYTES",
    "MAX_DEPENDENCIES",
    "MAX_SUBMIT_JOB_BYTES",
    "ContainerOverrides",
    "EcsPropertiesOverride",
    "JobDependency",
    "JobSubmissionSpec",
    "TaskContainerOverrides",
]

#: AWS Batch's limit on the size of a SubmitJob request (30 KiB).
MAX_SUBMIT_JOB_BYTES = 30 * 1024
#: Limit on the serialized container overrides (8 KiB, passed on to ECS). ECS counts every
#: override of a task in its 8 KiB, so the same limit holds for an ECS properties override.
MAX_CONTAINER_OVERRIDES_BYTES = 8 * 1024
#: A job can depend on at most 20 jobs.
MAX_DEPENDENCIES = 20
MIN_ARRAY_SIZE = 2
MAX_ARRAY_SIZE = 10_000
DEPENDENCY_TYPES = ("N_TO_N", "SEQUENTIAL")

_ARN_HEAD = r"arn:aws[a-z-]*:batch:[a-z0-9-]+:\d{12}"
_JOB_QUEUE = re.compile(rf"(?:{_ARN_HEAD}:job-queue/)?[A-Za-z0-9_-]{{1,128}}")
_JOB_DEFINITION = re.compile(rf"(?:{_ARN_HEAD}:job-definition/)?[A-Za-z0-9_-]{{1,128}}(?::[1-9]\d*)?")
_SHARE_IDENTIFIER = re.compile(r"[A-Za-z0-9]{1,255}\*?")


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobDependency(BatchSpec):
    """Make this job wait for another job, or run the children of this array job in order.

    :param job_id: the id of the job to wait for; omitted for ``SEQUENTIAL``.
    :param type: None (wait for the whole job), ``"N_TO_N"`` (child *i* of this array job waits
        for child *i* of the other array job) or ``"SEQUENTIAL"`` (the children of this array job
        run one after another; no ``job_id``). Both types need this job to be an array job.
    """

    job_id: str | None = None
    type: str | None = None

    @classmethod
    def from_value(cls, value: JobDependency | str | Mapping[str, Any]) -> JobDependency:
        """Build a dependency from a job id, a dict (``{"jobId", "type"}`` or snake_case) or itself."""
        if isinstance(value, JobDependency):
            return value
        if isinstance(value, Mapping):
            return cls(**{camel_to_snake(str(key)): item for key, item in value.items()})
        return cls(job_id=value)

    def _normalize(self, c: Checker) -> None:
        self._replace_field("type", to_upper(self.type))

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_choice(c, "type", self.type, DEPENDENCY_TYPES)
        if self.type == "SEQUENTIAL":
            c.check(
                self.job_id is None,
                "job_id",
                self.job_id,
                "a SEQUENTIAL dependency takes no job id (it orders the children of this array job)",
            )
        elif self.job_id is None:
            c.fail("job_id", None, "is required unless type is SEQUENTIAL")
        else:
            check_non_empty(c, "job_id", self.job_id)

    def to_request(self) -> dict[str, Any]:
        return drop_none({"jobId": self.job_id, "type": self.type})


def _dependency_from_id(value: Any) -> JobDependency | None:
    if isinstance(value, str) or is_unresolved(value):
        with deferred_validation():
            return JobDependency(job_id=value)
    return None


def _check_override_fields(c: Checker, spec: ContainerOverrides | TaskContainerOverrides) -> None:
    """Check what a container override and a task container override share."""
    check_str_list(c, "command", spec.command, allow_empty_items=False)
    check_environment(c, "environment", spec.environment)
    check_not_secrets(c, "not_secrets", spec.not_secrets)
    check_plaintext_secrets(
        c,
        "environment",
        spec.environment,
        spec.not_secrets,
        where="the job (shown to anyone who may call DescribeJobs)",
        instead="give it to the job definition by reference: secrets={name: "
        "'arn:aws:secretsmanager:...'} (a Secrets Manager secret or an SSM parameter)",
    )
    vcpus = spec.vcpus
    if vcpus is not None and not is_unresolved(vcpus):
        c.check(is_number(vcpus) and float(vcpus) > 0, "vcpus", vcpus, "must be a positive number")
    c.int_range("memory", spec.memory, 4, None)  # type: ignore[arg-type]
    c.int_range("gpus", spec.gpus, 0, None)  # type: ignore[arg-type]


def _normalize_override_fields(c: Checker, spec: ContainerOverrides | TaskContainerOverrides) -> None:
    spec._replace_field("command", normalize_str_list(c, "command", spec.command))
    spec._replace_field(
        "environment", normalize_str_map(c, "environment", spec.environment, allow_pairs=True)
    )
    spec._replace_field("vcpus", to_number(spec.vcpus))
    spec._replace_field("memory", to_int(spec.memory))
    spec._replace_field("gpus", to_int(spec.gpus))
    spec._replace_field("not_secrets", normalize_str_list(c, "not_secrets", spec.not_secrets))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ContainerOverrides(BatchSpec):
    """Change the job definition's container for this one job.

    :param command: the command, replacing the definition's; no empty strings.
    :param environment: variables to add or override; names must not start with ``AWS_BATCH``,
        and a name that says it holds a secret (``DB_PASSWORD``...) is refused with a value.
    :param not_secrets: names in ``environment`` that look like secrets but hold none.
    :param vcpus: vCPUs (becomes a VCPU resource requirement).
    :param memory: memory in MiB, at least 4 (becomes a MEMORY resource requirement).
    :param gpus: GPUs (becomes a GPU resource requirement).
    :param instance_type: instance type, for multi-node parallel jobs.
    """

    command: Sequence[str] | None = None
    environment: Mapping[str, str] | None = None
    vcpus: float | str | None = None
    memory: int | str | None = None
    gpus: int | str | None = None
    instance_type: str | None = None
    not_secrets: Sequence[str] | None = None

    def _normalize(self, c: Checker) -> None:
        _normalize_override_fields(c, self)

    def _check(self, c: Checker, context: SpecContext) -> None:
        _check_override_fields(c, self)
        if self.instance_type is not None:
            check_non_empty(c, "instance_type", self.instance_type)

    def to_request(self) -> dict[str, Any]:
        requirements = [
            {"type": kind, "value": str(format_number(value))}
            for kind, value in (("VCPU", self.vcpus), ("MEMORY", self.memory), ("GPU", self.gpus))
            if value is not None
        ]
        return drop_none(
            {
                "command": None if self.command is None else list(self.command),
                "environment": environment_request(self.environment),
                "resourceRequirements": requirements or None,
                "instanceType": self.instance_type,
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskContainerOverrides(BatchSpec):
    """Change one container of an ECS multi-container job (``ecsProperties``) for this one job.

    :param name: the container to change, by its name in the job definition.
    :param command: the command, replacing the definition's; no empty strings.
    :param environment: variables to add or override; names must not start with ``AWS_BATCH``,
        and a name that says it holds a secret (``DB_PASSWORD``...) is refused with a value.
    :param not_secrets: names in ``environment`` that look like secrets but hold none.
    :param vcpus: vCPUs (a VCPU resource requirement).
    :param memory: memory in MiB, at least 4 (a MEMORY resource requirement).
    :param gpus: GPUs (a GPU resource requirement).
    """

    name: str
    command: Sequence[str] | None = None
    environment: Mapping[str, str] | None = None
    vcpus: float | str | None = None
    memory: int | str | None = None
    gpus: int | str | None = None
    not_secrets: Sequence[str] | None = None

    def _normalize(self, c: Checker) -> None:
        _normalize_override_fields(c, self)

    def _check(self, c: Checker, context: SpecContext) -> None:
        if self.name is None:
            c.fail("name", None, "is required: it names the container of the job definition to change")
        else:
            check_non_empty(c, "name", self.name)
        _check_override_fields(c, self)

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "name": self.name,
                "command": None if self.command is None else list(self.command),
                "environment": environment_request(self.environment),
                "resourceRequirements": resource_requirements(self.vcpus, self.memory, self.gpus),
            }
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class EcsPropertiesOverride(BatchSpec):
    """Change containers of an ECS multi-container job for this one job (``ecsPropertiesOverride``).

    :param containers: :class:`TaskContainerOverrides` (or dicts of their fields), at most one per
        container.
    """

    containers: Sequence[TaskContainerOverrides | Mapping[str, Any]]

    def _normalize(self, c: Checker) -> None:
        containers = self.containers
        if isinstance(containers, (Mapping, TaskContainerOverrides)):
            containers = [containers]
        self._replace_field(
            "containers", coerce_spec_list(c, "containers", containers, TaskContainerOverrides)
        )

    def _check(self, c: Checker, context: SpecContext) -> None:
        containers = self.containers
        if not isinstance(containers, list):
            return
        c.check(bool(containers), "containers", containers, "give at least one container override")
        seen: dict[Any, int] = {}
        for index, item in enumerate(containers):
            if not isinstance(item, TaskContainerOverrides):
                continue
            item.check_into(c.at(f"containers[{index}]"), context)
            if isinstance(item.name, str) and not is_unresolved(item.name):
                if item.name in seen:
                    c.fail(
                        f"containers[{index}].name",
                        item.name,
                        f"override each container once (containers[{seen[item.name]}] names it too)",
                    )
                seen.setdefault(item.name, index)

    def by_name(self) -> dict[str, TaskContainerOverrides]:
        """Return the container overrides by container name."""
        return {
            item.name: item
            for item in self.containers
            if isinstance(item, TaskContainerOverrides) and isinstance(item.name, str)
        }

    def to_request(self) -> dict[str, Any]:
        """Return AWS's ``ecsPropertiesOverride``: one task whose containers are overridden."""
        return {"taskProperties": [{"containers": [request_of(item) for item in self.containers]}]}


def coerce_ecs_override(c: Checker, field: str, value: Any) -> Any:
    """Return an :class:`EcsPropertiesOverride` from itself, a list of container overrides, a dict
    of its fields, or AWS's ``{"taskProperties": [{"containers": [...]}]}`` (one task)."""
    if value is None or isinstance(value, EcsPropertiesOverride):
        return value
    if isinstance(value, Mapping):
        key = next((k for k in ("taskProperties", "task_properties") if k in value), None)
        if key is not None:
            tasks = value[key]
            if not isinstance(tasks, Sequence) or isinstance(tasks, (str, bytes)) or len(tasks) != 1:
                shown = f"<{len(tasks)} tasks>" if isinstance(tasks, Sequence) else tasks
                c.fail(
                    f"{field}.task_properties" if field else "task_properties",
                    shown,
                    "AWS Batch takes exactly one task in ecsPropertiesOverride.taskProperties",
                )
                return value
            value = tasks[0]
        return coerce_spec(c, field, value, EcsPropertiesOverride)
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        with deferred_validation():
            return EcsPropertiesOverride(containers=value)
    c.fail(field, value, "must be an EcsPropertiesOverride, a list of TaskContainerOverrides, or AWS's shape")
    return value


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobSubmissionSpec(BatchSpec):
    """Describe a job to submit: which definition, which queue, and what to change for this run.

    :param job_name: up to 128 letters, numbers, hyphens and underscores, starting with a letter
        or number.
    :param job_queue: queue name or ARN.
    :param job_definition: ``name``, ``name:revision`` or ARN (latest ACTIVE revision without one).
    :param parameters: values for the definition's ``Ref::name`` placeholders.
    :param container_overrides: :class:`ContainerOverrides` (or a dict of its fields) for ECS jobs
        whose definition has one container (``containerProperties``).
    :param ecs_properties_override: an :class:`EcsPropertiesOverride`, a list of
        :class:`TaskContainerOverrides` (or dicts), or AWS's ``ecsPropertiesOverride`` dict, for
        ECS multi-container jobs (``ecsProperties``): each names the container it changes.
    :param eks_properties_override: AWS's ``eksPropertiesOverride`` dict, for EKS jobs.
    :param node_overrides: AWS's ``nodeOverrides`` dict, for multi-node parallel jobs.
    :param array_size: 2 to 10,000 children make this an array job.
    :param depends_on: up to 20 dependencies: job ids, dicts or :class:`JobDependency`.
    :param retry_strategy: a :class:`RetryStrategy`, or just the number of attempts (1 to 10).
    :param timeout_seconds: per-attempt timeout, at least 60 seconds.
    :param tags: up to 50 tags.
    :param propagate_tags: copy the tags to the ECS task.
    :param share_identifier: fair-share identifier: up to 255 letters and numbers, optionally
        followed by ``*``.
    :param scheduling_priority_override: 0 to 9999, for fair-share job queues.
    :param job_definition_spec: the job definition's spec, when the caller has it (the operator
        passes the one it registers). Never sent: the overrides are checked against it (an ECS
        override names containers the definition has; the override kind fits the definition).
    :param extra_request_fields: SubmitJob members the spec does not model yet, in AWS's shape
        (e.g. ``{"consumableResourcePropertiesOverride": {...}}``), deep-merged into the request
        and checked by botocore's parameter validation; a member the spec sets (or, at the top
        level, models) is refused. See :mod:`airflow_batch_plugin.specs.extra_fields`.
    """

    #: What the spec models of SubmitJob: request member -> spec field.
    _REQUEST_MODEL: ClassVar[RequestModel] = RequestModel(
        "SubmitJob",
        {
            "jobName": "job_name",
            "jobQueue": "job_queue",
            "shareIdentifier": "share_identifier",
            "schedulingPriorityOverride": "scheduling_priority_override",
            "arrayProperties": "array_size",
            "dependsOn": "depends_on",
            "jobDefinition": "job_definition",
            "parameters": "parameters",
            "containerOverrides": "container_overrides",
            "nodeOverrides": "node_overrides",
            "retryStrategy": "retry_strategy",
            "propagateTags": "propagate_tags",
            "timeout": "timeout_seconds",
            "tags": "tags",
            "eksPropertiesOverride": "eks_properties_override",
            "ecsPropertiesOverride": "ecs_properties_override",
        },
    )

    job_name: str
    job_queue: str
    job_definition: str
    parameters: Mapping[str, str] | None = None
    container_overrides: ContainerOverrides | Mapping[str, Any] | None = None
    ecs_properties_override: (
        EcsPropertiesOverride
        | Sequence[TaskContainerOverrides | Mapping[str, Any]]
        | Mapping[str, Any]
        | None
    ) = None
    eks_properties_override: Mapping[str, Any] | None = None
    node_overrides: Mapping[str, Any] | None = None
    array_size: int | None = None
    depends_on: Sequence[JobDependency | str | Mapping[str, Any]] | None = None
    retry_strategy: RetryStrategy | int | None = None
    timeout_seconds: int | None = None
    tags: Mapping[str, str] | None = None
    propagate_tags: bool | None = None
    share_identifier: str | None = None
    scheduling_priority_override: int | None = None
    job_definition_spec: JobDefinitionSpec | None = None
    extra_request_fields: Mapping[str, Any] | None = None

    @property
    def is_array_job(self) -> bool:
        """Tell whether this submission creates an array job."""
        return self.array_size is not None

    def _normalize(self, c: Checker) -> None:
        self._replace_field("parameters", normalize_str_map(c, "parameters", self.parameters))
        self._replace_field(
            "container_overrides",
            coerce_spec(c, "container_overrides", self.container_overrides, ContainerOverrides),
        )
        self._replace_field(
            "ecs_properties_override",
            coerce_ecs_override(c, "ecs_properties_override", self.ecs_properties_override),
        )
        self._replace_field("array_size", to_int(self.array_size))
        self._replace_field("retry_strategy", coerce_retry_strategy(c, "retry_strategy", self.retry_strategy))
        self._replace_field("timeout_seconds", to_int(self.timeout_seconds))
        self._replace_field("scheduling_priority_override", to_int(self.scheduling_priority_override))
        depends_on = self.depends_on
        if depends_on is None:
            return
        if isinstance(depends_on, (str, Mapping, JobDependency)):
            depends_on = [depends_on]
        if isinstance(depends_on, Sequence):
            self._replace_field(
                "depends_on",
                [
                    coerce_spec(
                        c, f"depends_on[{index}]", item, JobDependency, from_scalar=_dependency_from_id
                    )
                    for index, item in enumerate(depends_on)
                ],
            )
        else:
            c.fail("depends_on", depends_on, "must be a list of job ids, dicts or JobDependency")

    def _check(self, c: Checker, context: SpecContext) -> None:
        if check_non_empty(c, "job_name", self.job_name):
            c.pattern("job_name", self.job_name, JOB_NAME, JOB_NAME_RULE)
        if check_non_empty(c, "job_queue", self.job_queue):
            c.pattern(
                "job_queue",
                self.job_queue,
                _JOB_QUEUE,
                "must be a job queue name (up to 128 letters, numbers, - and _) or a job queue ARN",
            )
        if check_non_empty(c, "job_definition", self.job_definition):
            c.pattern(
                "job_definition",
                self.job_definition,
                _JOB_DEFINITION,
                "must be a job definition name, name:revision, or a job definition ARN",
            )
        check_str_map(c, "parameters", self.parameters, "parameter")
        self._check_overrides(c, context)
        c.int_range("array_size", self.array_size, MIN_ARRAY_SIZE, MAX_ARRAY_SIZE)
        self._check_dependencies(c, context)
        if isinstance(self.retry_strategy, RetryStrategy):
            self.retry_strategy.check_into(c.at("retry_strategy"), context)
        check_timeout(c, "timeout_seconds", self.timeout_seconds)
        c.tags("tags", self.tags)
        check_bool(c, "propagate_tags", self.propagate_tags)
        c.pattern(
            "share_identifier",
            self.share_identifier,
            _SHARE_IDENTIFIER,
            "up to 255 letters and numbers, optionally followed by '*'",
        )
        c.int_range("scheduling_priority_override", self.scheduling_priority_override, 0, 9999)
        check_extra_fields(
            c, self.extra_request_fields, own_request_or_none(self._own_request), self._REQUEST_MODEL
        )
        if not c.problems:
            c.json_size(
                "", self.to_request(), MAX_SUBMIT_JOB_BYTES, "the SubmitJob request (30 KiB job payload)"
            )

    def _check_overrides(self, c: Checker, context: SpecContext) -> None:
        overrides = self.container_overrides
        if isinstance(overrides, ContainerOverrides):
            overrides.check_into(c.at("container_overrides"), context)
            c.json_size(
                "container_overrides",
                overrides.to_request(),
                MAX_CONTAINER_OVERRIDES_BYTES,
                "the container overrides (limit 8 KiB)",
            )
        for name in ("eks_properties_override", "node_overrides"):
            value = getattr(self, name)
            if value is not None:
                c.check(isinstance(value, Mapping), name, value, "must be a dict in AWS's request shape")
        if self.eks_properties_override is not None and overrides is not None:
            c.fail(
                "eks_properties_override",
                "<set>",
                "give container_overrides (ECS jobs) or eks_properties_override (EKS jobs), not both",
            )
        ecs = self.ecs_properties_override
        if ecs is not None:
            for name in ("container_overrides", "eks_properties_override"):
                c.check(
                    getattr(self, name) is None,
                    name,
                    "<set>",
                    "give ecs_properties_override (ECS multi-container jobs) or "
                    f"{name}, not both: a job definition takes one kind",
                )
        if isinstance(ecs, EcsPropertiesOverride):
            ecs.check_into(c.at("ecs_properties_override"), context)
            c.json_size(
                "ecs_properties_override",
                ecs.to_request(),
                MAX_CONTAINER_OVERRIDES_BYTES,
                "the ECS properties override (ECS allows 8 KiB of overrides for a task)",
            )
        if isinstance(self.job_definition_spec, JobDefinitionSpec):
            self._check_against_definition(c, self.job_definition_spec)
        elif self.job_definition_spec is not None:
            c.fail("job_definition_spec", self.job_definition_spec, "must be a JobDefinitionSpec")

    def _check_against_definition(self, c: Checker, definition: JobDefinitionSpec) -> None:
        """Check the overrides fit the definition: their kind, the containers they name, Fargate sizes."""
        named = f"job definition {definition.name}"
        task = definition.ecs
        ecs = self.ecs_properties_override
        if task is None:
            c.check(
                ecs is None,
                "ecs_properties_override",
                "<set>",
                f"{named} has no ecsProperties (it is not an ECS multi-container definition): use "
                "container_overrides, node_overrides or eks_properties_override for its kind",
            )
            return
        c.check(
            self.container_overrides is None,
            "container_overrides",
            "<set>",
            f"{named} runs an ECS task of containers (ecsProperties): override them by name in "
            "ecs_properties_override",
        )
        if not isinstance(task, EcsTaskSpec) or not isinstance(ecs, EcsPropertiesOverride):
            return
        names = task.container_names
        for index, item in enumerate(ecs.containers):
            if (
                isinstance(item, TaskContainerOverrides)
                and isinstance(item.name, str)
                and not is_unresolved(item.name)
            ):
                c.check(
                    item.name in names,
                    f"ecs_properties_override.containers[{index}].name",
                    item.name,
                    f"{named} has no container of this name (its named containers: {names or 'none'})",
                )
        if definition.platform == "FARGATE":
            self._check_fargate_size(c, task, ecs)

    @staticmethod
    def _check_fargate_size(c: Checker, task: EcsTaskSpec, ecs: EcsPropertiesOverride) -> None:
        """On Fargate the overridden containers must still add up to a Fargate vCPU/memory pair."""
        overrides = ecs.by_name()
        if not any(item.vcpus is not None or item.memory is not None for item in overrides.values()):
            return
        vcpus: list[Any] = []
        memory: list[Any] = []
        for container in task.containers:
            if not isinstance(container, TaskContainerSpec):
                return
            override = overrides.get(container.name) if isinstance(container.name, str) else None
            vcpus.append(container.vcpus if override is None or override.vcpus is None else override.vcpus)
            memory.append(
                container.memory if override is None or override.memory is None else override.memory
            )
        total_vcpus, total_memory_mib = total(vcpus), total(memory)
        if total_vcpus is None or total_memory_mib is None:
            return
        if not all(is_number(v) for v in vcpus + memory if v is not None):
            return
        total_memory = int(total_memory_mib)
        rule = fargate_pair_rule(total_vcpus, total_memory)
        if rule is not None:
            c.fail(
                "ecs_properties_override",
                f"<{format_number(total_vcpus)} vCPU, {total_memory} MiB in all>",
                f"with these overrides the Fargate task's size, the sum of its containers' vcpus and "
                f"memory, {rule} (AWS's Fargate vCPU/memory pairs)",
            )

    def _check_dependencies(self, c: Checker, context: SpecContext) -> None:
        dependencies = self.depends_on
        if not isinstance(dependencies, list):
            return
        c.check(
            len(dependencies) <= MAX_DEPENDENCIES,
            "depends_on",
            f"<{len(dependencies)} dependencies>",
            f"a job can depend on at most {MAX_DEPENDENCIES} jobs",
        )
        for index, dependency in enumerate(dependencies):
            if not isinstance(dependency, JobDependency):
                continue
            dependency.check_into(c.at(f"depends_on[{index}]"), context)
            if dependency.type in DEPENDENCY_TYPES:
                c.check(
                    self.is_array_job,
                    f"depends_on[{index}].type",
                    dependency.type,
                    f"{dependency.type} dependencies are only for array jobs (set array_size)",
                )

    def to_request(self) -> dict[str, Any]:
        """Return the keyword arguments of boto3's ``batch.submit_job``.

        ``extra_request_fields`` are merged in; where one collides, the spec's value stays.
        """
        return with_extra_fields(self._own_request(), self.extra_request_fields, self._REQUEST_MODEL)

    def _own_request(self) -> dict[str, Any]:
        """Return the request the spec's own fields make (without ``extra_request_fields``)."""
        dependencies = None
        if self.depends_on:
            dependencies = [request_of(item) for item in self.depends_on]
        return drop_none(
            {
                "jobName": self.job_name,
                "jobQueue": self.job_queue,
                "shareIdentifier": self.share_identifier,
                "schedulingPriorityOverride": self.scheduling_priority_override,
                "arrayProperties": None if self.array_size is None else {"size": self.array_size},
                "dependsOn": dependencies,
                "jobDefinition": self.job_definition,
                "parameters": dict(self.parameters) if self.parameters else None,
                "containerOverrides": request_of(self.container_overrides) or None,
                "nodeOverrides": dict(self.node_overrides) if self.node_overrides else None,
                "retryStrategy": request_of(self.retry_strategy),
                "propagateTags": self.propagate_tags,
                "timeout": timeout_request(self.timeout_seconds),
                "tags": dict(self.tags) if self.tags else None,
                "eksPropertiesOverride": (
                    dict(self.eks_properties_override) if self.eks_properties_override else None
                ),
                "ecsPropertiesOverride": request_of(self.ecs_properties_override) or None,
            }
        )

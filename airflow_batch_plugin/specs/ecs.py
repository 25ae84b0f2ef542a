"""Describe the ECS task of a multi-container AWS Batch job (``ecsProperties``) and check it.

A job definition with ``ecsProperties`` runs one ECS task of 1 to 10 containers
(``ecsProperties.taskProperties[0].containers[]``). Each container has its own image, command,
resources, environment and log configuration; ``essential`` containers decide the job (all must
exit 0), and ``dependsOn`` orders their start. The rules here are AWS Batch's (API reference:
EcsTaskProperties, TaskContainerProperties, TaskContainerDependency; user guide: "Create job
definitions using EcsProperties") and, where AWS Batch hands the task to ECS, ECS's own.

On Fargate the task's size is the sum of its containers' vCPUs and memory, and that sum must be
one of Fargate's vCPU/memory pairs (a single container need not be).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_batch_plugin.specs.common import (
    BatchSpec,
    SpecContext,
    check_bool,
    check_choice,
    check_environment,
    check_non_empty,
    check_not_secrets,
    check_plaintext_secrets,
    check_role_arn,
    check_secret_map,
    check_str_list,
    check_str_map,
    coerce_spec,
    coerce_spec_list,
    deferred_validation,
    environment_request,
    format_number,
    is_number,
    normalize_str_list,
    normalize_str_map,
    request_list,
    request_of,
    secrets_request,
    to_int,
    to_number,
    to_upper,
)
from airflow_batch_plugin.specs.container import (
    FARGATE_PLATFORM_VERSION,
    IMAGE,
    IMAGE_RULE,
    SECRETS_MANAGER_ARN,
    EfsVolume,
    LinuxParameters,
    LogConfiguration,
    MountPoint,
    RuntimePlatform,
    Ulimit,
    Volume,
    check_efs,
    check_volumes,
    fargate_pair_rule,
    flag_request,
    to_flag,
)
from airflow_batch_plugin.specs.validation import Checker, drop_none, is_unresolved

__all__ = [
    "DEPENDENCY_CONDITIONS",
    "MAX_TASK_CONTAINERS",
    "EcsTaskSpec",
    "FirelensConfiguration",
    "TaskContainerDependency",
    "TaskContainerSpec",
    "coerce_ecs_task",
    "resource_requirements",
    "total",
]

#: AWS Batch runs 1 to 10 containers in the task of an ``ecsProperties`` job definition.
MAX_TASK_CONTAINERS = 10
#: The dependency conditions AWS Batch documents for TaskContainerDependency.
DEPENDENCY_CONDITIONS = ("START", "COMPLETE", "SUCCESS")
#: Conditions that wait for the named container to exit: AWS refuses them on an essential one.
EXIT_CONDITIONS = ("COMPLETE", "SUCCESS")
IPC_MODES = ("host", "task", "none")
PID_MODES = ("host", "task")
FIRELENS_TYPES = ("fluentd", "fluentbit")
#: ECS's rule for container names (AWS Batch hands them to ECS as the task's container names).
_CONTAINER_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_CONTAINER_NAME_RULE = "up to 255 letters, numbers, hyphens (-) and underscores (_) (ECS's container names)"
#: Start and stop timeouts: at least 2 seconds; at most 120 seconds on Fargate.
MIN_CONTAINER_TIMEOUT = 2
MAX_FARGATE_CONTAINER_TIMEOUT = 120


def resource_requirements(vcpus: Any, memory: Any, gpus: Any) -> list[dict[str, str]] | None:
    """Return vCPUs, memory (MiB) and GPUs as AWS's ``resourceRequirements`` list; None when empty."""
    requirements = [
        {"type": kind, "value": str(format_number(value))}
        for kind, value in (("VCPU", vcpus), ("MEMORY", memory), ("GPU", gpus))
        if value is not None and not (kind == "GPU" and value == 0)
    ]
    return requirements or None


def _known(value: Any) -> bool:
    return isinstance(value, str) and not is_unresolved(value)


# --- parts of a container ----------------------------------------------------------------------


def _dependency_from_value(value: Any) -> TaskContainerDependency | None:
    """Build a dependency from a container name (condition START) or a ``(name, condition)`` pair."""
    with deferred_validation():
        if isinstance(value, str) or is_unresolved(value):
            return TaskContainerDependency(container_name=value)
        if isinstance(value, tuple) and len(value) == 2:
            return TaskContainerDependency(container_name=value[0], condition=value[1])
    return None


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskContainerDependency(BatchSpec):
    """Make a container wait for another container of the same task.

    :param container_name: the name of the other container.
    :param condition: ``START`` (AWS's default here: the other container has started),
        ``COMPLETE`` (it has exited) or ``SUCCESS`` (it has exited 0). ``COMPLETE`` and
        ``SUCCESS`` can't name an essential container.
    """

    container_name: str
    condition: str = "START"

    def _normalize(self, c: Checker) -> None:
        self._replace_field("condition", to_upper(self.condition))

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_non_empty(c, "container_name", self.container_name)
        if self.condition == "HEALTHY":
            c.fail(
                "condition",
                self.condition,
                "HEALTHY needs a container health check, which AWS Batch's TaskContainerProperties "
                f"cannot declare; AWS Batch documents {', '.join(DEPENDENCY_CONDITIONS)}",
            )
        else:
            check_choice(c, "condition", self.condition, DEPENDENCY_CONDITIONS)

    def to_request(self) -> dict[str, Any]:
        return {"containerName": self.container_name, "condition": self.condition}


@dataclasses.dataclass(frozen=True, kw_only=True)
class FirelensConfiguration(BatchSpec):
    """Make a container the task's FireLens log router (other containers log through it).

    :param type: ``fluentbit`` or ``fluentd``.
    :param options: router options, e.g. ``{"enable-ecs-log-metadata": "true"}``.
    """

    type: str
    options: Mapping[str, str] | None = None

    def _normalize(self, c: Checker) -> None:
        if _known(self.type):
            self._replace_field("type", self.type.lower())
        self._replace_field("options", normalize_str_map(c, "options", self.options))

    def _check(self, c: Checker, context: SpecContext) -> None:
        check_choice(c, "type", self.type, FIRELENS_TYPES)
        check_str_map(c, "options", self.options, "FireLens option")

    def to_request(self) -> dict[str, Any]:
        return drop_none({"type": self.type, "options": dict(self.options) if self.options else None})


# --- one container -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class TaskContainerSpec(BatchSpec):
    """Describe one container of a multi-container ECS task (AWS's TaskContainerProperties).

    :param image: the image, e.g. ``public.ecr.aws/docker/library/python:3.12``.
    :param name: the container's name: what ``depends_on`` and ``ecs_properties_override`` target,
        and how the task log labels the container's lines. AWS does not require one; give one to
        every container of a task with more than one.
    :param essential: AWS's default is True: the job fails when an essential container fails,
        and every other container is stopped when one stops. At least one container must be
        essential.
    :param command: the command, a list of strings (``Ref::name`` placeholders take parameters).
    :param depends_on: containers to wait for: names (condition ``START``), ``(name, condition)``
        pairs, dicts or :class:`TaskContainerDependency`.
    :param vcpus: vCPUs reserved for this container (a VCPU resource requirement).
    :param memory: memory hard limit in MiB, at least 4 (a MEMORY resource requirement).
    :param gpus: GPUs (a GPU resource requirement; not on Fargate).
    :param environment: environment variables; names must not start with ``AWS_BATCH``, and a
        name that says it holds a secret (``DB_PASSWORD``...) is refused with a value.
    :param secrets: environment variables read from secrets: name -> Secrets Manager ARN, SSM
        parameter ARN, or SSM parameter name.
    :param not_secrets: names in ``environment`` that look like secrets but hold none.
    :param mount_points: :class:`MountPoint` list naming volumes of the task.
    :param log_configuration: a :class:`LogConfiguration` (``awsfirelens`` needs a FireLens
        container in the task).
    :param firelens_configuration: a :class:`FirelensConfiguration`: this container routes logs.
    :param linux_parameters: :class:`LinuxParameters` (mostly not on Fargate).
    :param privileged: run privileged (not on Fargate).
    :param readonly_root_filesystem: mount the root file system read-only.
    :param repository_credentials_arn: Secrets Manager ARN of private registry credentials.
    :param ulimits: :class:`Ulimit` list (not on Fargate).
    :param user: user name or uid to run as.
    :param start_timeout: seconds to wait for its dependencies, at least 2 (Fargate: at most 120).
    :param stop_timeout: seconds before it is killed when it doesn't stop, at least 2 (Fargate: at
        most 120).
    """

    image: str
    name: str | None = None
    essential: bool | None = None
    command: Sequence[str] | None = None
    depends_on: Sequence[TaskContainerDependency | Mapping[str, Any] | str | tuple[str, str]] | None = None
    vcpus: float | str | None = None
    memory: int | str | None = None
    gpus: int | str | None = None
    environment: Mapping[str, str] | None = None
    secrets: Mapping[str, str] | None = None
    not_secrets: Sequence[str] | None = None
    mount_points: Sequence[MountPoint | Mapping[str, Any]] | None = None
    log_configuration: LogConfiguration | Mapping[str, Any] | None = None
    firelens_configuration: FirelensConfiguration | Mapping[str, Any] | None = None
    linux_parameters: LinuxParameters | Mapping[str, Any] | None = None
    privileged: bool | None = None
    readonly_root_filesystem: bool | None = None
    repository_credentials_arn: str | None = None
    ulimits: Sequence[Ulimit | Mapping[str, Any]] | None = None
    user: str | None = None
    start_timeout: int | None = None
    stop_timeout: int | None = None

    @property
    def is_essential(self) -> bool:
        """Tell whether the container is essential (AWS's default when ``essential`` is unset)."""
        return self.essential is not False

    def _normalize(self, c: Checker) -> None:
        self._replace_field("vcpus", to_number(self.vcpus))
        for name in ("memory", "gpus", "start_timeout", "stop_timeout"):
            self._replace_field(name, to_int(getattr(self, name)))
        self._replace_field("command", normalize_str_list(c, "command", self.command))
        self._replace_field(
            "environment", normalize_str_map(c, "environment", self.environment, allow_pairs=True)
        )
        self._replace_field("secrets", normalize_str_map(c, "secrets", self.secrets))
        self._replace_field("not_secrets", normalize_str_list(c, "not_secrets", self.not_secrets))
        depends_on = self.depends_on
        if isinstance(depends_on, (str, Mapping, TaskContainerDependency)):
            depends_on = [depends_on]
        if depends_on is not None:
            if isinstance(depends_on, Sequence):
                depends_on = [
                    coerce_spec(
                        c,
                        f"depends_on[{index}]",
                        item,
                        TaskContainerDependency,
                        from_scalar=_dependency_from_value,
                    )
                    for index, item in enumerate(depends_on)
                ]
            else:
                c.fail(
                    "depends_on", depends_on, "must be a list of container names or TaskContainerDependency"
                )
            self._replace_field("depends_on", depends_on)
        self._replace_field(
            "mount_points", coerce_spec_list(c, "mount_points", self.mount_points, MountPoint)
        )
        self._replace_field("ulimits", coerce_spec_list(c, "ulimits", self.ulimits, Ulimit))
        for name, cls in (
            ("log_configuration", LogConfiguration),
            ("firelens_configuration", FirelensConfiguration),
            ("linux_parameters", LinuxParameters),
        ):
            self._replace_field(name, coerce_spec(c, name, getattr(self, name), cls))

    # -- checks -------------------------------------------------------------------------------

    def _check(self, c: Checker, context: SpecContext) -> None:
        fargate = context.platform == "FARGATE"
        if check_non_empty(c, "image", self.image):
            c.pattern("image", self.image, IMAGE, IMAGE_RULE)
        if self.name is not None and check_non_empty(c, "name", self.name):
            c.pattern("name", self.name, _CONTAINER_NAME, _CONTAINER_NAME_RULE)
        check_bool(c, "essential", self.essential)
        check_str_list(c, "command", self.command)
        self._check_resources(c, context)
        check_environment(c, "environment", self.environment)
        check_not_secrets(c, "not_secrets", self.not_secrets)
        check_plaintext_secrets(
            c,
            "environment",
            self.environment,
            self.not_secrets,
            where="the job definition (shown to anyone who may call DescribeJobDefinitions)",
            instead="pass it by reference: secrets={name: 'arn:aws:secretsmanager:...'} "
            "(a Secrets Manager secret or an SSM parameter)",
        )
        check_secret_map(c, "secrets", self.secrets)
        for name in ("depends_on", "mount_points", "ulimits"):
            items = getattr(self, name)
            if isinstance(items, list):
                for index, item in enumerate(items):
                    if isinstance(item, BatchSpec):
                        item.check_into(c.at(f"{name}[{index}]"), context)
        for name in ("log_configuration", "firelens_configuration", "linux_parameters"):
            part = getattr(self, name)
            if isinstance(part, BatchSpec):
                part.check_into(c.at(name), context)
        for name in ("privileged", "readonly_root_filesystem"):
            check_bool(c, name, getattr(self, name))
        if self.user is not None:
            check_non_empty(c, "user", self.user)
        c.pattern(
            "repository_credentials_arn",
            self.repository_credentials_arn,
            SECRETS_MANAGER_ARN,
            "must be the ARN of a Secrets Manager secret",
        )
        high = MAX_FARGATE_CONTAINER_TIMEOUT if fargate else None
        for name in ("start_timeout", "stop_timeout"):
            c.int_range(name, getattr(self, name), MIN_CONTAINER_TIMEOUT, high)
        if fargate:
            c.check(
                self.privileged is not True,
                "privileged",
                True,
                "privileged containers are not available on Fargate",
            )
            c.check(not self.ulimits, "ulimits", self.ulimits, "ulimits are not available on Fargate")

    def _check_resources(self, c: Checker, context: SpecContext) -> None:
        vcpus = self.vcpus
        if vcpus is not None and not is_unresolved(vcpus):
            c.check(is_number(vcpus) and float(vcpus) > 0, "vcpus", vcpus, "must be a positive number")
        c.int_range("memory", self.memory, 4, None)  # type: ignore[arg-type]
        c.int_range("gpus", self.gpus, 0, None)  # type: ignore[arg-type]
        if context.platform == "FARGATE" and self.gpus not in (None, 0):
            c.fail("gpus", self.gpus, "GPUs are not available on Fargate")

    def check_windows(self, c: Checker) -> None:
        """Record the fields a Windows container can't have (AWS's RuntimePlatform rules)."""
        rule = "is not available for Windows containers"
        for name in ("linux_parameters", "privileged", "user", "ulimits", "readonly_root_filesystem"):
            value = getattr(self, name)
            c.check(value in (None, False, []), name, value, rule)

    # -- request ------------------------------------------------------------------------------

    def to_request(self) -> dict[str, Any]:
        return drop_none(
            {
                "name": self.name,
                "image": self.image,
                "essential": self.essential,
                "command": None if self.command is None else list(self.command),
                "dependsOn": request_list(self.depends_on),
                "resourceRequirements": resource_requirements(self.vcpus, self.memory, self.gpus),
                "environment": environment_request(self.environment),
                "secrets": secrets_request(self.secrets),
                "mountPoints": request_list(self.mount_points),
                "logConfiguration": request_of(self.log_configuration),
                "firelensConfiguration": request_of(self.firelens_configuration),
                "linuxParameters": request_of(self.linux_parameters),
                "privileged": self.privileged,
                "readonlyRootFilesystem": self.readonly_root_filesystem,
                "repositoryCredentials": (
                    None
                    if self.repository_credentials_arn is None
                    else {"credentialsParameter": self.repository_credentials_arn}
                ),
                "ulimits": request_list(self.ulimits),
                "user": self.user,
                "startTimeout": self.start_timeout,
                "stopTimeout": self.stop_timeout,
            }
        )


# --- the task ----------------------------------------------------------------------------------


def total(values: Sequence[Any]) -> float | None:
    """Sum the known numbers of ``values`` (rounded past float noise); None when none is known."""
    numbers = [float(v) for v in values if is_number(v)]
    return round(sum(numbers), 6) if numbers else None


@dataclasses.dataclass(frozen=True, kw_only=True)
class EcsTaskSpec(BatchSpec):
    """Describe the ECS task of a multi-container job: its containers and what they share.

    :param containers: 1 to 10 :class:`TaskContainerSpec` (or dicts of their fields). Names,
        when given, are unique; at least one container is essential; ``depends_on`` names other
        containers of the task, without cycles.
    :param execution_role_arn: IAM role ECS uses to pull images and write logs (Fargate: required).
    :param task_role_arn: IAM role the containers' code runs as (``jobRoleArn`` of a container job).
    :param platform_version: Fargate platform version, ``LATEST`` or ``x.y.z`` (Fargate only).
    :param ipc_mode: ``host``, ``task`` or ``none`` (not on Fargate).
    :param pid_mode: ``host`` or ``task`` (Fargate: ``task`` only).
    :param assign_public_ip: give the Fargate task a public IP (Fargate only).
    :param runtime_platform: a :class:`RuntimePlatform` (Fargate only).
    :param ephemeral_storage_gib: Fargate ephemeral storage, 21 to 200 GiB (Fargate only).
    :param volumes: :class:`Volume` list the containers' mount points name.
    :param enable_execute_command: turn on ECS Exec for every container of the task.
    """

    containers: Sequence[TaskContainerSpec | Mapping[str, Any]]
    execution_role_arn: str | None = None
    task_role_arn: str | None = None
    platform_version: str | None = None
    ipc_mode: str | None = None
    pid_mode: str | None = None
    assign_public_ip: bool | None = None
    runtime_platform: RuntimePlatform | Mapping[str, Any] | None = None
    ephemeral_storage_gib: int | None = None
    volumes: Sequence[Volume | Mapping[str, Any]] | None = None
    enable_execute_command: bool | None = None

    @property
    def container_names(self) -> list[str]:
        """The names of the task's named containers, in order."""
        return [
            item.name
            for item in self.containers or ()
            if isinstance(item, TaskContainerSpec) and isinstance(item.name, str)
        ]

    def _normalize(self, c: Checker) -> None:
        containers = self.containers
        if isinstance(containers, (Mapping, TaskContainerSpec)):
            containers = [containers]
        self._replace_field("containers", coerce_spec_list(c, "containers", containers, TaskContainerSpec))
        self._replace_field("ephemeral_storage_gib", to_int(self.ephemeral_storage_gib))
        self._replace_field("assign_public_ip", to_flag(self.assign_public_ip))
        for name in ("ipc_mode", "pid_mode"):
            value = getattr(self, name)
            if _known(value):
                self._replace_field(name, value.lower())
        self._replace_field("volumes", coerce_spec_list(c, "volumes", self.volumes, Volume))
        self._replace_field(
            "runtime_platform", coerce_spec(c, "runtime_platform", self.runtime_platform, RuntimePlatform)
        )

    # -- checks -------------------------------------------------------------------------------

    def _check(self, c: Checker, context: SpecContext) -> None:
        containers = self.containers
        if not isinstance(containers, list):
            return
        c.check(
            1 <= len(containers) <= MAX_TASK_CONTAINERS,
            "containers",
            f"<{len(containers)} containers>",
            f"give 1 to {MAX_TASK_CONTAINERS} containers (AWS's limit for the task of an "
            "ecsProperties job definition)",
        )
        specs = [
            (index, item) for index, item in enumerate(containers) if isinstance(item, TaskContainerSpec)
        ]
        for index, container in specs:
            container.check_into(c.at(f"containers[{index}]"), context)
        if specs and len(specs) == len(containers):
            c.check(
                any(container.is_essential for _, container in specs),
                "containers",
                "<no essential container>",
                "at least one container must be essential (essential is True unless set to False)",
            )
        self._check_names(c, specs)
        self._check_dependencies(c, specs)
        self._check_task_resources(c, context, specs)
        self._check_volumes(c, context, specs)
        self._check_log_routing(c, specs)
        self._check_task_fields(c, context)
        if isinstance(self.runtime_platform, RuntimePlatform) and self.runtime_platform.is_windows:
            for index, container in specs:
                container.check_windows(c.at(f"containers[{index}]"))

    def _check_names(self, c: Checker, specs: list[tuple[int, TaskContainerSpec]]) -> None:
        seen: dict[str, int] = {}
        for index, container in specs:
            name = container.name
            if not _known(name):
                continue
            assert isinstance(name, str)
            if name in seen:
                c.fail(
                    f"containers[{index}].name",
                    name,
                    f"container names must be unique in the task (containers[{seen[name]}] has it too)",
                )
            else:
                seen[name] = index

    def _check_dependencies(self, c: Checker, specs: list[tuple[int, TaskContainerSpec]]) -> None:
        by_name = {container.name: container for _, container in specs if isinstance(container.name, str)}
        if any(not _known(container.name) and container.name is not None for _, container in specs):
            return  # a templated name: dependencies are checked once it is rendered
        edges: dict[str, list[str]] = {}
        for index, container in specs:
            if not isinstance(container.depends_on, list):
                continue
            for position, dependency in enumerate(container.depends_on):
                if not isinstance(dependency, TaskContainerDependency) or not _known(
                    dependency.container_name
                ):
                    continue
                path = f"containers[{index}].depends_on[{position}].container_name"
                target = dependency.container_name
                if target == container.name:
                    c.fail(path, target, "a container can't depend on itself")
                    continue
                if target not in by_name:
                    c.fail(
                        path,
                        target,
                        f"must name another container of the task (named: {sorted(by_name) or 'none'})",
                    )
                    continue
                if dependency.condition in EXIT_CONDITIONS:
                    c.check(
                        not by_name[target].is_essential,
                        f"containers[{index}].depends_on[{position}].condition",
                        dependency.condition,
                        f"{dependency.condition} can't be set on an essential container ({target!r} is "
                        "essential; set essential=False on it, or depend on it with START)",
                    )
                if isinstance(container.name, str):
                    edges.setdefault(container.name, []).append(target)
        cycle = _find_cycle(edges)
        if cycle:
            first = next(index for index, container in specs if container.name == cycle[0])
            c.fail(
                f"containers[{first}].depends_on",
                " -> ".join(cycle),
                "container dependencies must not form a cycle: none of these containers could start",
            )

    def _check_task_resources(
        self, c: Checker, context: SpecContext, specs: list[tuple[int, TaskContainerSpec]]
    ) -> None:
        platform = context.platform
        if platform is None or any(
            is_unresolved(item.vcpus) or is_unresolved(item.memory) for _, item in specs
        ):
            return
        vcpus = total([item.vcpus for _, item in specs])
        memory = total([item.memory for _, item in specs])
        field = "containers"
        if vcpus is None:
            c.fail(field, None, "give vcpus to at least one container: AWS needs the vCPUs of every job")
        if memory is None:
            c.fail(field, None, "give memory to at least one container: AWS needs the memory of every job")
        if vcpus is None or memory is None:
            return
        shown = f"<{format_number(vcpus)} vCPU, {format_number(int(memory))} MiB in all>"
        if platform == "FARGATE":
            rule = fargate_pair_rule(vcpus, int(memory))
            if rule is not None:
                c.fail(
                    field,
                    shown,
                    f"on Fargate the task's size, the sum of its containers' vcpus and memory, {rule} "
                    "(AWS's Fargate vCPU/memory pairs)",
                )
        else:
            c.check(vcpus >= 1, field, shown, "on EC2 the containers must reserve at least 1 vCPU in all")

    def _check_volumes(
        self, c: Checker, context: SpecContext, specs: list[tuple[int, TaskContainerSpec]]
    ) -> None:
        names = check_volumes(
            c, context, self.volumes, lambda field, efs: self._check_efs(c, field, efs, context)
        )
        for index, container in specs:
            if not isinstance(container.mount_points, list):
                continue
            for position, mount in enumerate(container.mount_points):
                if isinstance(mount, MountPoint) and _known(mount.source_volume):
                    c.check(
                        mount.source_volume in names,
                        f"containers[{index}].mount_points[{position}].source_volume",
                        mount.source_volume,
                        f"must name a volume declared in the task's volumes (declared: {names or 'none'})",
                    )

    def _check_efs(self, c: Checker, field: str, efs: EfsVolume, context: SpecContext) -> None:
        check_efs(
            c,
            field,
            efs,
            context,
            role_arn=self.task_role_arn,
            role_field="task_role_arn",
            platform_version=self.platform_version,
            version_field="platform_version",
        )
        if isinstance(self.runtime_platform, RuntimePlatform) and self.runtime_platform.is_windows:
            c.fail(field, "<set>", "EFS volumes are not available for Windows containers")

    def _check_log_routing(self, c: Checker, specs: list[tuple[int, TaskContainerSpec]]) -> None:
        has_router = any(container.firelens_configuration is not None for _, container in specs)
        for index, container in specs:
            log = container.log_configuration
            if isinstance(log, LogConfiguration) and log.log_driver == "awsfirelens":
                c.check(
                    has_router,
                    f"containers[{index}].log_configuration.log_driver",
                    log.log_driver,
                    "awsfirelens needs a log router in the task: give one container a firelens_configuration",
                )

    def _check_task_fields(self, c: Checker, context: SpecContext) -> None:
        check_role_arn(c, "execution_role_arn", self.execution_role_arn)
        check_role_arn(c, "task_role_arn", self.task_role_arn)
        check_choice(c, "ipc_mode", self.ipc_mode, IPC_MODES)
        check_choice(c, "pid_mode", self.pid_mode, PID_MODES)
        check_bool(c, "assign_public_ip", self.assign_public_ip)
        check_bool(c, "enable_execute_command", self.enable_execute_command)
        c.int_range("ephemeral_storage_gib", self.ephemeral_storage_gib, 21, 200)
        c.pattern(
            "platform_version",
            self.platform_version,
            FARGATE_PLATFORM_VERSION,
            "must be LATEST or a version like 1.4.0",
        )
        if isinstance(self.runtime_platform, RuntimePlatform):
            self.runtime_platform.check_into(c.at("runtime_platform"), context)
        if context.platform == "FARGATE":
            c.check(
                self.execution_role_arn is not None,
                "execution_role_arn",
                None,
                "is required on Fargate (the role ECS uses to pull the images and write logs)",
            )
            c.check(self.ipc_mode is None, "ipc_mode", self.ipc_mode, "is not available for jobs on Fargate")
            c.check(
                self.pid_mode in (None, "task"),
                "pid_mode",
                self.pid_mode,
                "on Fargate only 'task' is available (ECS's Fargate rule)",
            )
        elif context.platform is not None:
            for name in ("assign_public_ip", "platform_version", "ephemeral_storage_gib", "runtime_platform"):
                value = getattr(self, name)
                c.check(
                    value is None,
                    name,
                    value,
                    "is only for Fargate jobs (AWS rejects it for jobs on EC2 resources)",
                )

    # -- request ------------------------------------------------------------------------------

    def total_vcpus(self) -> float | None:
        """The vCPUs the containers reserve in all; None when none gives any."""
        return total([item.vcpus for item in self.containers if isinstance(item, TaskContainerSpec)])

    def total_memory(self) -> float | None:
        """The memory (MiB) the containers reserve in all; None when none gives any."""
        return total([item.memory for item in self.containers if isinstance(item, TaskContainerSpec)])

    def to_request(self) -> dict[str, Any]:
        """Return one element of AWS's ``ecsProperties.taskProperties``."""
        return drop_none(
            {
                "containers": [request_of(item) for item in self.containers],
                "executionRoleArn": self.execution_role_arn,
                "taskRoleArn": self.task_role_arn,
                "platformVersion": self.platform_version,
                "ipcMode": self.ipc_mode,
                "pidMode": self.pid_mode,
                "networkConfiguration": (
                    None
                    if self.assign_public_ip is None
                    else {"assignPublicIp": flag_request(self.assign_public_ip)}
                ),
                "runtimePlatform": request_of(self.runtime_platform),
                "ephemeralStorage": (
                    None if self.ephemeral_storage_gib is None else {"sizeInGiB": self.ephemeral_storage_gib}
                ),
                "volumes": request_list(self.volumes),
                "enableExecuteCommand": self.enable_execute_command,
            }
        )


def _find_cycle(edges: Mapping[str, list[str]]) -> list[str] | None:
    """Return one dependency cycle as ``[a, b, ..., a]``, or None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in edges.get(node, ()):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if state.get(target) is None:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if state.get(start) is None:
            found = visit(start)
            if found:
                return found
    return None


def coerce_ecs_task(c: Checker, field: str, value: Any) -> Any:
    """Return an :class:`EcsTaskSpec` from itself, a dict of its fields, or AWS's ``ecsProperties``.

    AWS's wrapper ``{"taskProperties": [task]}`` holds exactly one task (AWS's current limit);
    the task's own fields are :class:`EcsTaskSpec`'s (snake_case or camelCase).
    """
    if isinstance(value, Mapping):
        key = next((k for k in ("taskProperties", "task_properties") if k in value), None)
        if key is not None:
            tasks = value[key]
            extra = sorted(str(k) for k in value if k != key)
            if extra:
                c.fail(field, value, f"unknown EcsProperties field(s) {extra}; known: ['taskProperties']")
                return value
            if not isinstance(tasks, Sequence) or isinstance(tasks, (str, bytes)) or len(tasks) != 1:
                shown = f"<{len(tasks)} tasks>" if isinstance(tasks, Sequence) else tasks
                c.fail(
                    f"{field}.task_properties",
                    shown,
                    "AWS Batch takes exactly one task in ecsProperties.taskProperties",
                )
                return value
            value = tasks[0]
    return coerce_spec(c, field, value, EcsTaskSpec)

"""The emulated Batch job: its state, its attempts, and how DescribeJobs and ListJobs show it."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_batch_local.containers import (
    DEFAULT_CONTAINER_NAME,
    apply_container_overrides,
    eks_containers,
    node_container,
    node_count,
)
from aws_batch_local.ecs_definitions import (
    ecs_properties_of,
    merged_task_containers,
    task_properties,
)
from aws_batch_local.ecs_job_detail import (
    attempt_task_properties,
    describe_ecs_properties,
    task_container_runtime,
)

if TYPE_CHECKING:
    from aws_batch_local.attempt_units import AttemptUnits
    from aws_batch_local.eks_pods import EksPod
    from aws_batch_local.multinode import NodeJob
    from aws_batch_local.process import LinesCallback

SUBMITTED = "SUBMITTED"
PENDING = "PENDING"
RUNNABLE = "RUNNABLE"
STARTING = "STARTING"
RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
STATUSES = (SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED)
TERMINAL_STATUSES = frozenset({SUCCEEDED, FAILED})
NOT_STARTED_STATUSES = frozenset({SUBMITTED, PENDING, RUNNABLE})

# Status reasons, worded as AWS Batch words them.
ESSENTIAL_CONTAINER_EXITED = "Essential container in task exited"
DEPENDENT_JOB_FAILED = "Dependent Job failed"
ARRAY_CHILD_JOB_FAILED = "Array Child Job failed"
ATTEMPT_TIMED_OUT = "Job attempt duration exceeded timeout"
TASK_FAILED_TO_START = "Task failed to start"

CONTAINER_KIND = "container"
MULTINODE_KIND = "multinode"
EKS_KIND = "eks"
ECS_KIND = "ecs"

_CONTAINER_DETAIL_KEYS = (
    "image",
    "vcpus",
    "memory",
    "command",
    "jobRoleArn",
    "executionRoleArn",
    "volumes",
    "environment",
    "mountPoints",
    "readonlyRootFilesystem",
    "ulimits",
    "privileged",
    "user",
    "instanceType",
    "resourceRequirements",
    "linuxParameters",
    "logConfiguration",
    "secrets",
    "networkConfiguration",
    "fargatePlatformConfiguration",
    "ephemeralStorage",
    "runtimePlatform",
    "repositoryCredentials",
    "enableExecuteCommand",
)


def now_ms() -> int:
    """Return the current time as AWS shows it: epoch milliseconds."""
    return int(time.time() * 1000)


def container_detail(
    merged: dict[str, Any], runtime: dict[str, Any], network_interfaces: list[dict[str, str]] | None
) -> dict[str, Any]:
    """Return the ContainerDetail shape: a merged container plus what is known of its run.

    ``network_interfaces`` is None until the container has a task.
    """
    container = {key: copy.deepcopy(merged[key]) for key in _CONTAINER_DETAIL_KEYS if key in merged}
    container.setdefault("command", [])
    container.setdefault("environment", [])
    container.update({key: value for key, value in runtime.items() if value is not None})
    if network_interfaces is not None:
        container["networkInterfaces"] = copy.deepcopy(network_interfaces)
    return container


@dataclass
class Attempt:
    """One finished attempt, as DescribeJobs lists it under ``attempts`` (or ``eksAttempts``).

    A multi-node parent's attempt has no task of its own (``task_arn`` None): its container shows
    only the main node's exit code and reason. An EKS attempt has its ``pod``.
    """

    started_at: int | None
    stopped_at: int
    status_reason: str
    task_arn: str | None
    container_instance_arn: str | None
    log_stream_name: str | None
    exit_code: int | None
    reason: str | None
    network_interfaces: list[dict[str, str]] = field(default_factory=list)
    pod: EksPod | None = None
    #: AttemptTaskContainerDetails of each container of an ECS multi-container job (else None).
    task_containers: list[dict[str, Any]] | None = None

    def describe(self) -> dict[str, Any]:
        """Return the AttemptDetail shape."""
        if self.task_containers is not None:
            return self._with_times(
                {
                    "taskProperties": attempt_task_properties(
                        self.task_containers, self.task_arn, self.container_instance_arn
                    )
                }
            )
        container: dict[str, Any] = {}
        if self.task_arn is not None:
            container = {
                "taskArn": self.task_arn,
                "networkInterfaces": copy.deepcopy(self.network_interfaces),
            }
        optional = {
            "containerInstanceArn": self.container_instance_arn,
            "exitCode": self.exit_code,
            "reason": self.reason,
            "logStreamName": self.log_stream_name,
        }
        container.update({key: value for key, value in optional.items() if value is not None})
        return self._with_times({"container": container})

    def _with_times(self, detail: dict[str, Any]) -> dict[str, Any]:
        detail.update({"stoppedAt": self.stopped_at, "statusReason": self.status_reason})
        if self.started_at is not None:
            detail["startedAt"] = self.started_at
        return detail

    def describe_eks(self) -> dict[str, Any]:
        """Return the EksAttemptDetail shape (from the attempt's pod)."""
        assert self.pod is not None
        return self.pod.describe_attempt(self.started_at, self.stopped_at, self.status_reason)


WAITING_PHASE = "waiting"
LAUNCHING_PHASE = "launching"
RUNNING_PHASE = "running"


@dataclass(eq=False)
class ActiveAttempt:
    """The attempt in progress: its units, processes, network and why the emulator may be stopping it.

    ``units`` (``attempt_units.AttemptUnits``) are its processes, indexed like
    ``BatchJob.unit_container``: the one container, the nodes of a multi-node job, the init
    containers then containers of an EKS pod, the containers of an ECS task; they carry the
    kind's rules. ``phase`` is ``waiting`` (STARTING, nothing started), ``launching`` (the first
    processes being started outside the lock) or ``running``; ``launch_in_flight`` is True while
    any of its processes are being started outside the lock. ``sinks`` write each unit's output
    to its log stream; ``secrets`` holds each unit's resolved secrets once its task is
    initialized. ``stop_reason`` is the statusReason the attempt ends with when the emulator, not
    a container, ends it; ``retryable`` is False when that end must not be retried (TerminateJob,
    timeout).
    """

    number: int
    slots: int
    task_arn: str | None
    container_instance_arn: str | None
    units: AttemptUnits
    network_interfaces: list[dict[str, str]] = field(default_factory=list)
    pod: EksPod | None = None
    phase: str = WAITING_PHASE
    launch_in_flight: bool = False
    started_at: int | None = None
    handles: dict[int, Any] = field(default_factory=dict)
    sinks: dict[int, LinesCallback] = field(default_factory=dict)
    secrets: dict[int, dict[str, str]] = field(default_factory=dict)
    stop_reason: str | None = None
    retryable: bool = True


@dataclass(eq=False)
class BatchJob:
    """A submitted job, an array parent or an array child, with everything DescribeJobs reports."""

    job_id: str
    arn: str
    name: str
    queue: Any
    definition: Any
    seq: int
    created_at: int
    parameters: dict[str, str]
    depends_on: list[dict[str, str]]
    container_overrides: dict[str, Any] | None = None
    eks_override: dict[str, Any] | None = None
    node_overrides: dict[str, Any] | None = None
    ecs_override: dict[str, Any] | None = None
    timeout: dict[str, Any] | None = None
    retry_strategy: dict[str, Any] | None = None
    propagate_tags: bool | None = None
    share_identifier: str | None = None
    scheduling_priority: int | None = None
    array_size: int | None = None
    array_index: int | None = None
    parent: BatchJob | None = None
    children: list[BatchJob] = field(default_factory=list)
    status: str = SUBMITTED
    status_reason: str | None = None
    started_at: int | None = None
    stopped_at: int | None = None
    attempts: list[Attempt] = field(default_factory=list)
    active: ActiveAttempt | None = None
    is_cancelled: bool = False
    is_terminated: bool = False
    status_summary: dict[str, int] = field(default_factory=dict)
    dependency_ids: list[str] = field(default_factory=list)
    compute_environment: Any = None
    entered_status_at: float = 0.0
    ready_seq: int = -1
    node_jobs: list[NodeJob] = field(default_factory=list)
    _containers: list[dict[str, Any]] | None = None
    _init_containers: list[dict[str, Any]] | None = None

    @property
    def kind(self) -> str:
        """Return ``container``, ``multinode``, ``eks`` or ``ecs`` (ECS multi-container)."""
        if self.definition.eks_properties is not None:
            return EKS_KIND
        if ecs_properties_of(self.definition) is not None:
            return ECS_KIND
        if self.definition.type == MULTINODE_KIND:
            return MULTINODE_KIND
        return CONTAINER_KIND

    @property
    def is_array_parent(self) -> bool:
        """Return whether this job only tracks array children and runs nothing itself."""
        return self.array_size is not None

    @property
    def attempt_duration_seconds(self) -> float | None:
        """Return the attempt timeout: the job's, else the job definition's."""
        timeout = self.timeout or self.definition.timeout or {}
        seconds = timeout.get("attemptDurationSeconds")
        return float(seconds) if seconds else None

    @property
    def effective_retry_strategy(self) -> dict[str, Any]:
        """Return the retry strategy: the job's, else the job definition's."""
        return self.retry_strategy or self.definition.retry_strategy or {}

    @property
    def main_node(self) -> int:
        """Return the main node index of a multi-node job (0 for other kinds)."""
        if self.kind != MULTINODE_KIND:
            return 0
        return int(self.definition.node_properties.get("mainNode", 0))

    def containers(self) -> list[dict[str, Any]]:
        """Return the merged containers: one per node, per pod container, per ECS container, or the one."""
        if self._containers is None:
            self._containers = self._merge_containers()
        return self._containers

    def init_containers(self) -> list[dict[str, Any]]:
        """Return the merged init containers of an EKS pod (none for other kinds)."""
        if self._init_containers is None:
            self._init_containers = (
                eks_containers(
                    self.definition.eks_properties, self.eks_override, self.parameters, "initContainers"
                )
                if self.kind == EKS_KIND
                else []
            )
        return self._init_containers

    def unit_container(self, unit: int) -> dict[str, Any]:
        """Return the container a unit runs: init containers come before containers (EKS)."""
        return [*self.init_containers(), *self.containers()][unit]

    def _merge_containers(self) -> list[dict[str, Any]]:
        definition = self.definition
        if self.kind == EKS_KIND:
            return eks_containers(definition.eks_properties, self.eks_override, self.parameters)
        ecs_properties = ecs_properties_of(definition)
        if ecs_properties is not None:
            return merged_task_containers(ecs_properties, self.ecs_override, self.parameters)
        if self.kind == MULTINODE_KIND:
            nodes = node_count(definition.node_properties, self.node_overrides)
            return [
                node_container(definition.node_properties, self.node_overrides, index, self.parameters)
                for index in range(nodes)
            ]
        return [
            apply_container_overrides(
                definition.container_properties or {}, self.container_overrides, self.parameters
            )
        ]

    def latest_attempt_view(self) -> tuple[int | None, str | None, str | None, str | None, str | None]:
        """Return exit code, reason, log stream, task ARN and instance ARN of the latest attempt."""
        if self.active is not None:
            active = self.active
            stream = active.units[self.main_node].log_stream_name
            return None, None, stream, active.task_arn, active.container_instance_arn
        if self.attempts:
            last = self.attempts[-1]
            return (
                last.exit_code,
                last.reason,
                last.log_stream_name,
                last.task_arn,
                last.container_instance_arn,
            )
        return None, None, None, None, None

    def describe(self, tags: dict[str, str]) -> dict[str, Any]:
        """Return the JobDetail shape DescribeJobs answers with; ``tags`` are the job's current tags."""
        detail: dict[str, Any] = {
            "jobArn": self.arn,
            "jobName": self.name,
            "jobId": self.job_id,
            "jobQueue": self.queue.arn,
            "status": self.status,
            "attempts": [] if self.kind == EKS_KIND else [attempt.describe() for attempt in self.attempts],
            "createdAt": self.created_at,
            "dependsOn": copy.deepcopy(self.depends_on),
            "jobDefinition": self.definition.arn,
            "parameters": dict(self.parameters),
            "tags": tags,
            "propagateTags": bool(self.propagate_tags),
            "platformCapabilities": list(self.definition.platform_capabilities or []),
            "isCancelled": self.is_cancelled,
            "isTerminated": self.is_terminated,
        }
        optional = {
            "statusReason": self.status_reason,
            "startedAt": self.started_at,
            "stoppedAt": self.stopped_at,
            "shareIdentifier": self.share_identifier,
            "schedulingPriority": self.scheduling_priority,
        }
        detail.update({key: value for key, value in optional.items() if value is not None})
        if self.effective_retry_strategy:
            detail["retryStrategy"] = copy.deepcopy(self.effective_retry_strategy)
        if self.attempt_duration_seconds:
            detail["timeout"] = {"attemptDurationSeconds": int(self.attempt_duration_seconds)}
        if self.kind == EKS_KIND:
            detail["eksProperties"] = self._describe_eks()
            detail["eksAttempts"] = [attempt.describe_eks() for attempt in self.attempts if attempt.pod]
        elif self.kind == ECS_KIND:
            detail["ecsProperties"] = self._describe_ecs()
        elif self.kind == MULTINODE_KIND:
            container = self._describe_main_node_exit()
            if container:
                detail["container"] = container
        else:
            detail["container"] = self._describe_container()
        if self.kind == MULTINODE_KIND:
            detail["nodeProperties"] = self._describe_node_properties()
        if self.is_array_parent:
            detail["arrayProperties"] = {"size": self.array_size, "statusSummary": self._summary_counts()}
        elif self.array_index is not None:
            detail["arrayProperties"] = {"index": self.array_index}
        return detail

    def summary(self) -> dict[str, Any]:
        """Return the JobSummary shape ListJobs answers with."""
        summary: dict[str, Any] = {
            "jobArn": self.arn,
            "jobId": self.job_id,
            "jobName": self.name,
            "createdAt": self.created_at,
            "status": self.status,
            "jobDefinition": self.definition.arn,
            "isCancelled": self.is_cancelled,
            "isTerminated": self.is_terminated,
        }
        optional = {
            "statusReason": self.status_reason,
            "startedAt": self.started_at,
            "stoppedAt": self.stopped_at,
            "shareIdentifier": self.share_identifier,
        }
        summary.update({key: value for key, value in optional.items() if value is not None})
        exit_code, reason, *_ = self.latest_attempt_view()
        container = {key: value for key, value in (("exitCode", exit_code), ("reason", reason))}
        container = {key: value for key, value in container.items() if value is not None}
        if container and self.kind not in (EKS_KIND, ECS_KIND):
            summary["container"] = container
        if self.is_array_parent:
            summary["arrayProperties"] = {"size": self.array_size}
        elif self.array_index is not None:
            summary["arrayProperties"] = {"index": self.array_index}
        if self.kind == MULTINODE_KIND:
            summary["nodeProperties"] = {"numNodes": len(self.containers())}
        return summary

    def _summary_counts(self) -> dict[str, int]:
        return {status: self.status_summary.get(status, 0) for status in STATUSES}

    def _describe_container(self) -> dict[str, Any]:
        exit_code, reason, stream, task_arn, instance_arn = self.latest_attempt_view()
        runtime = {
            "exitCode": exit_code,
            "reason": reason,
            "logStreamName": stream,
            "taskArn": task_arn,
            "containerInstanceArn": instance_arn,
        }
        return container_detail(
            self.containers()[0], runtime, self._network_interfaces() if task_arn else None
        )

    def _network_interfaces(self) -> list[dict[str, str]]:
        if self.active is not None:
            return self.active.network_interfaces
        return self.attempts[-1].network_interfaces if self.attempts else []

    def _describe_main_node_exit(self) -> dict[str, Any]:
        """Return a multi-node parent's container: the main node's exit code and reason, once known.

        Each node is a task of its own with its own stream: the parent's container carries no
        task, stream or node group settings (read those from the node jobs, ``<jobId>#<N>``).
        """
        exit_code, reason, *_ = self.latest_attempt_view()
        return {
            key: value for key, value in (("exitCode", exit_code), ("reason", reason)) if value is not None
        }

    def _describe_node_properties(self) -> dict[str, Any]:
        node_properties = copy.deepcopy(self.definition.node_properties)
        node_properties["numNodes"] = len(self.containers())
        return node_properties

    def _describe_ecs(self) -> dict[str, Any]:
        ecs_properties = ecs_properties_of(self.definition) or {}
        runtime: list[dict[str, Any]] | None = None
        task_arn = instance_arn = None
        active = self.active
        if active is not None:
            task_arn, instance_arn = active.task_arn, active.container_instance_arn
            if active.phase != WAITING_PHASE:
                runtime = task_container_runtime(self.containers(), active.units, active.network_interfaces)
        elif self.attempts and self.attempts[-1].task_containers is not None:
            last = self.attempts[-1]
            runtime, task_arn, instance_arn = last.task_containers, last.task_arn, last.container_instance_arn
        return describe_ecs_properties(
            task_properties(ecs_properties), self.containers(), runtime, task_arn, instance_arn
        )

    def _current_pod(self) -> EksPod | None:
        if self.active is not None and self.active.pod is not None:
            return self.active.pod
        return self.attempts[-1].pod if self.attempts else None

    def _describe_eks(self) -> dict[str, Any]:
        pod_properties = copy.deepcopy((self.definition.eks_properties or {}).get("podProperties") or {})
        pod = self._current_pod()
        for key, merged, states in (
            ("containers", self.containers(), pod.containers if pod else []),
            ("initContainers", self.init_containers(), pod.init_containers if pod else []),
        ):
            if not merged:
                continue
            containers = copy.deepcopy(merged)
            for container in containers:  # AWS names an unnamed container (EksContainer.name)
                container.setdefault("name", DEFAULT_CONTAINER_NAME)
            for container, state in zip(containers, states, strict=False):
                container.update(state.status())
            pod_properties[key] = containers
        if pod is not None:
            pod_properties["podName"] = pod.name
            pod_properties["nodeName"] = pod.node_name
        return {"podProperties": pod_properties}

"""What a job page shows of a DescribeJobs answer beyond its status: how the job was asked to run.

:func:`job_details` reads one JobDetail (botocore's shape) of any kind into a :class:`JobDetails`:
the containers (image, command, vCPUs/memory/GPUs, environment variable *names*), the ECS
task's or EKS pod's settings, a multi-node job's node groups and nodes, dependencies, retry
strategy, timeout, share identifier, scheduling priority, roles, tags and the attempts with each
part's exit code and reason. The kind, parts, attempts and logs come from
:func:`airflow_batch_plugin.anatomy.read_job`, the one reader of those; this module adds the
configuration around them. Pure: no AWS call, and no environment value is ever copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_batch_plugin.anatomy import AttemptView, JobAnatomy, JobKind, read_job

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

#: Tags our operators put on jobs start with this (highlighted on the page).
AIRFLOW_TAG_PREFIX = "airflow:"
#: EKS resource names for GPUs (Kubernetes' extended resource of NVIDIA's device plugin).
EKS_GPU = "nvidia.com/gpu"
#: Job statuses in which the job's own members describe an attempt still under way.
UNDER_WAY = ("STARTING", "RUNNING")


@dataclass(frozen=True)
class Resources:
    """What a container asked for: vCPUs, memory (with its unit) and GPUs, as AWS's text says."""

    vcpus: str | None = None
    memory: str | None = None
    gpus: str | None = None

    def summary(self) -> str:
        """``2 vCPUs, 4096 MiB, 1 GPU``; "" when nothing was asked for."""
        words = []
        if self.vcpus is not None:
            words.append(f"{self.vcpus} vCPU{'' if self.vcpus == '1' else 's'}")
        if self.memory is not None:
            words.append(self.memory)
        if self.gpus is not None:
            words.append(f"{self.gpus} GPU{'' if self.gpus == '1' else 's'}")
        return ", ".join(words)


@dataclass(frozen=True)
class ContainerDetails:
    """One container as the job asked for it (a container job's, an ECS task's or a pod's).

    :param name: its name ("" for the one container of a container job or a node range).
    :param environment: the names of its environment variables (never their values).
    :param secrets: the names of the variables filled from Secrets Manager or SSM.
    :param essential: for an ECS container, whether its exit ends the task (None elsewhere).
    :param depends_on: for an ECS container, ``<container> (<condition>)`` it waits for.
    :param init: an EKS init container (runs to its end before the others start).
    """

    name: str
    image: str | None
    command: list[str]
    resources: Resources
    environment: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    essential: bool | None = None
    depends_on: list[str] = field(default_factory=list)
    init: bool = False
    instance_type: str | None = None


@dataclass(frozen=True)
class Dependency:
    """A job this one waits for (``dependsOn``): its id and the type (``N_TO_N``, ``SEQUENTIAL``)."""

    job_id: str
    type: str | None = None


@dataclass(frozen=True)
class ExitRule:
    """One ``evaluateOnExit`` rule: RETRY or EXIT when the attempt's end matches every pattern."""

    action: str
    on_exit_code: str | None = None
    on_status_reason: str | None = None
    on_reason: str | None = None

    def text(self) -> str:
        """``RETRY when exit code 137 and status reason Host EC2*`` (``always`` with no pattern)."""
        patterns = [
            f"{label} {value}"
            for label, value in (
                ("exit code", self.on_exit_code),
                ("status reason", self.on_status_reason),
                ("reason", self.on_reason),
            )
            if value
        ]
        return f"{self.action} when {' and '.join(patterns)}" if patterns else f"{self.action} always"


@dataclass(frozen=True)
class RetryStrategy:
    """How many attempts the job may take and the rules that decide whether to retry."""

    attempts: int | None
    evaluate_on_exit: list[ExitRule] = field(default_factory=list)


@dataclass(frozen=True)
class NodeGroup:
    """A multi-node job's node range: which nodes, on which instance types, running what."""

    target_nodes: str
    instance_types: list[str]
    containers: list[ContainerDetails]


@dataclass(frozen=True)
class NodeLink:
    """One node of a multi-node parallel job: a job of its own, ``<jobId>#<index>``."""

    index: int
    job_id: str
    main: bool


@dataclass(frozen=True)
class PodDetails:
    """An EKS job's pod: where it runs and as whom."""

    name: str | None
    node_name: str | None
    service_account: str | None
    host_network: bool | None
    dns_policy: str | None


@dataclass(frozen=True)
class PartOutcome:
    """How one part (a container, an ECS container, a pod container) of an attempt ended."""

    name: str
    label: str
    exit_code: int | None
    reason: str | None
    essential: bool
    log: str | None
    log_note: str | None = None


@dataclass(frozen=True)
class AttemptDetails:
    """One attempt: its times, why it ended, each part's exit code and reason.

    ``under_way``: the attempt the job is running now (not ended yet).
    """

    number: int
    started_at: int | None
    stopped_at: int | None
    status_reason: str | None
    parts: list[PartOutcome]
    pod_name: str | None = None
    under_way: bool = False


@dataclass(frozen=True)
class Tag:
    """One tag of the job; ``airflow`` for the ``airflow:*`` tags our operators add."""

    key: str
    value: str
    airflow: bool


@dataclass(frozen=True)
class JobDetails:
    """Everything a job page shows about how the job was asked to run, for every kind of job.

    ``containers``: the container of a container job (or node), every container of an ECS task,
    the init containers then containers of an EKS pod; a multi-node parent's are in
    ``node_groups``. ``parent_job_id``: an array child's or a node's parent job.
    """

    kind: str
    description: str
    platform: str
    platform_capabilities: list[str]
    containers: list[ContainerDetails]
    node_groups: list[NodeGroup]
    nodes: list[NodeLink]
    pod: PodDetails | None
    depends_on: list[Dependency]
    retry_strategy: RetryStrategy | None
    timeout_seconds: int | None
    share_identifier: str | None
    scheduling_priority: int | None
    propagate_tags: bool | None
    job_role_arn: str | None
    execution_role_arn: str | None
    tags: list[Tag]
    parameters: list[str]
    attempts: list[AttemptDetails]
    array_size: int | None = None
    array_index: int | None = None
    node_index: int | None = None
    is_main_node: bool | None = None
    parent_job_id: str | None = None
    notes: list[str] = field(default_factory=list)


# -- reading ---------------------------------------------------------------------------------


def job_details(job: Mapping[str, Any], anatomy: JobAnatomy | None = None) -> JobDetails:
    """Read one DescribeJobs answer (any kind) into :class:`JobDetails`.

    :param anatomy: the job's anatomy when the caller has read it already (else read here).
    """
    anatomy = anatomy or read_job(job)
    node_details = job.get("nodeDetails") or {}
    roles = _roles(job)
    return JobDetails(
        kind=anatomy.kind.value,
        description=anatomy.description,
        platform=anatomy.platform,
        platform_capabilities=[str(item) for item in job.get("platformCapabilities") or []],
        containers=_job_containers(job),
        node_groups=_node_groups(job),
        nodes=[
            NodeLink(index, job_id, index == anatomy.main_node)
            for index, job_id in enumerate(anatomy.node_job_ids())
        ],
        pod=_pod(job) if anatomy.kind is JobKind.EKS else None,
        depends_on=[
            Dependency(str(item.get("jobId") or ""), item.get("type"))
            for item in job.get("dependsOn") or []
            if item.get("jobId")
        ],
        retry_strategy=_retry_strategy(job.get("retryStrategy")),
        timeout_seconds=_int((job.get("timeout") or {}).get("attemptDurationSeconds")),
        share_identifier=job.get("shareIdentifier"),
        scheduling_priority=_int(job.get("schedulingPriority")),
        propagate_tags=job.get("propagateTags"),
        job_role_arn=roles[0],
        execution_role_arn=roles[1],
        tags=[
            Tag(str(key), str(value), str(key).startswith(AIRFLOW_TAG_PREFIX))
            for key, value in sorted((job.get("tags") or {}).items())
        ],
        parameters=sorted(str(name) for name in job.get("parameters") or {}),
        attempts=attempt_details(anatomy),
        array_size=anatomy.array_size,
        array_index=anatomy.array_index,
        node_index=anatomy.node_index,
        is_main_node=node_details.get("isMainNode") if node_details else None,
        parent_job_id=_parent_job_id(anatomy),
        notes=list(anatomy.notes),
    )


def attempt_details(anatomy: JobAnatomy) -> list[AttemptDetails]:
    """The attempts that ended, oldest first, then the one under way (if the job runs now)."""
    attempts = [_attempt(attempt, under_way=False) for attempt in anatomy.attempts]
    current = anatomy.current
    if current is not None and anatomy.status in UNDER_WAY and current.number > len(anatomy.attempts):
        attempts.append(_attempt(current, under_way=True))
    return attempts


def _attempt(attempt: AttemptView, *, under_way: bool) -> AttemptDetails:
    return AttemptDetails(
        number=attempt.number,
        started_at=attempt.started_at,
        stopped_at=attempt.stopped_at,
        status_reason=attempt.status_reason,
        parts=[
            PartOutcome(
                name=part.name,
                label=part.label,
                exit_code=part.exit_code,
                reason=part.reason,
                essential=part.essential,
                log=str(part.log) if part.log is not None else None,
                log_note=part.log_note,
            )
            for part in attempt.parts
        ],
        pod_name=attempt.pod_name,
        under_way=under_way,
    )


def _parent_job_id(anatomy: JobAnatomy) -> str | None:
    if anatomy.kind is JobKind.NODE and "#" in anatomy.job_id:
        return anatomy.job_id.rsplit("#", 1)[0]
    if anatomy.array_index is not None and ":" in anatomy.job_id:
        return anatomy.job_id.rsplit(":", 1)[0]
    return None


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _names(items: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """The ``name`` of each item (environment variables, secrets): never their values."""
    return [str(item.get("name")) for item in items or [] if item.get("name")]


def _resources(container: Mapping[str, Any]) -> Resources:
    """vCPUs, memory and GPUs of an ECS-style container (resourceRequirements, or the old
    ``vcpus``/``memory`` members) or of an EKS container (``resources``: requests, else limits)."""
    eks = container.get("resources")
    if isinstance(eks, dict):
        requests, limits = eks.get("requests") or {}, eks.get("limits") or {}

        def wanted(name: str) -> str | None:
            value = requests.get(name, limits.get(name))
            return str(value) if value is not None else None

        return Resources(vcpus=wanted("cpu"), memory=wanted("memory"), gpus=wanted(EKS_GPU))
    asked = {
        str(item.get("type")): str(item.get("value"))
        for item in container.get("resourceRequirements") or []
        if item.get("value") is not None
    }
    vcpus = asked.get("VCPU", _text(container.get("vcpus")))
    memory = asked.get("MEMORY", _text(container.get("memory")))
    return Resources(vcpus=vcpus, memory=f"{memory} MiB" if memory else None, gpus=asked.get("GPU"))


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


def _container(container: Mapping[str, Any], *, init: bool = False) -> ContainerDetails:
    """One container of any shape (ContainerDetail/Properties, TaskContainer*, EksContainer*)."""
    essential = container.get("essential")
    return ContainerDetails(
        name=str(container.get("name") or ""),
        image=container.get("image"),
        command=[str(word) for word in container.get("command") or []],
        resources=_resources(container),
        environment=_names(container.get("environment") or container.get("env")),
        secrets=_names(container.get("secrets")),
        args=[str(word) for word in container.get("args") or []],
        essential=bool(essential) if essential is not None else None,
        depends_on=[
            f"{item.get('containerName')} ({item.get('condition')})"
            for item in container.get("dependsOn") or []
            if item.get("containerName")
        ],
        init=init,
        instance_type=container.get("instanceType"),
    )


def containers_of(properties: Mapping[str, Any]) -> list[ContainerDetails]:
    """The containers of a job's (or a node range's) ``container``, ``ecsProperties`` or
    ``eksProperties``, in that order of precedence (a job has one of them)."""
    tasks = (properties.get("ecsProperties") or {}).get("taskProperties") or []
    if tasks:
        return [_container(c) for task in tasks for c in task.get("containers") or []]
    pod = (properties.get("eksProperties") or {}).get("podProperties") or {}
    if pod:
        return [_container(c, init=True) for c in pod.get("initContainers") or []] + [
            _container(c) for c in pod.get("containers") or []
        ]
    container = properties.get("container")
    return [_container(container)] if container else []


def _job_containers(job: Mapping[str, Any]) -> list[ContainerDetails]:
    if job.get("nodeProperties") and not job.get("nodeDetails"):
        return []  # a multi-node parent runs nothing itself: see its node groups
    return containers_of(job)


def _node_groups(job: Mapping[str, Any]) -> list[NodeGroup]:
    if job.get("nodeDetails"):
        return []  # a node: its container is its own
    ranges = (job.get("nodeProperties") or {}).get("nodeRangeProperties") or []
    return [
        NodeGroup(
            target_nodes=str(item.get("targetNodes") or ""),
            instance_types=[str(kind) for kind in item.get("instanceTypes") or []],
            containers=containers_of(item),
        )
        for item in ranges
    ]


def _pod(job: Mapping[str, Any]) -> PodDetails:
    pod = (job.get("eksProperties") or {}).get("podProperties") or {}
    return PodDetails(
        name=pod.get("podName"),
        node_name=pod.get("nodeName"),
        service_account=pod.get("serviceAccountName"),
        host_network=pod.get("hostNetwork"),
        dns_policy=pod.get("dnsPolicy"),
    )


def _retry_strategy(strategy: Mapping[str, Any] | None) -> RetryStrategy | None:
    if not strategy:
        return None
    return RetryStrategy(
        attempts=_int(strategy.get("attempts")),
        evaluate_on_exit=[
            ExitRule(
                action=str(rule.get("action") or "").upper(),
                on_exit_code=rule.get("onExitCode"),
                on_status_reason=rule.get("onStatusReason"),
                on_reason=rule.get("onReason"),
            )
            for rule in strategy.get("evaluateOnExit") or []
        ],
    )


def _roles(job: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The job role and execution role: the container's, the ECS task's (``taskRoleArn``), or
    the first node range's. An EKS job runs as its pod's service account instead."""
    places: list[Mapping[str, Any]] = [job.get("container") or {}]
    places += (job.get("ecsProperties") or {}).get("taskProperties") or []
    for item in (job.get("nodeProperties") or {}).get("nodeRangeProperties") or []:
        places.append(item.get("container") or {})
        places += (item.get("ecsProperties") or {}).get("taskProperties") or []
    job_role = next((p.get("jobRoleArn") or p.get("taskRoleArn") for p in places if _role_of(p)), None)
    execution = next((p["executionRoleArn"] for p in places if p.get("executionRoleArn")), None)
    return job_role, execution


def _role_of(place: Mapping[str, Any]) -> bool:
    return bool(place.get("jobRoleArn") or place.get("taskRoleArn"))

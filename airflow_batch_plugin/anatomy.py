"""What a DescribeJobs answer says about a job's structure, for every kind of AWS Batch job.

AWS Batch describes each kind of job in its own members (the API reference's JobDetail):

- a container job (EC2 or Fargate): ``container`` and ``attempts[].container``, one log stream an
  attempt;
- an ECS multi-container job: ``ecsProperties.taskProperties[].containers[]`` and
  ``attempts[].taskProperties[].containers[]``, one log stream per container and attempt, and
  ``essential`` containers that decide the job; its ``container`` is empty;
- an EKS job: ``eksProperties.podProperties`` (pod, node, containers with exit codes) and
  ``eksAttempts[]`` (one pod an attempt); no log stream at all: the containers' output goes where
  the cluster ships container logs (by default Container Insights' Fluent Bit convention);
- a multi-node parallel job: the parent has ``nodeProperties`` and the main node's ``attempts``;
  each node is a job of its own, ``<jobId>#<N>``, with ``nodeDetails`` and its own ``container``;
- an array job: the parent has ``arrayProperties.size`` and a status summary; each child
  ``<jobId>:<index>`` has ``arrayProperties.index`` and the description of its kind.

:func:`read_job` turns any of these into a :class:`JobAnatomy`: the kind, the parts that have
their own exit code and log (the container, each ECS container, each pod container), the
attempts, where each part's log is, and which part failed. Pure functions: no AWS call here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Where AWS Batch's awslogs driver writes unless the definition says otherwise.
DEFAULT_LOG_GROUP = "/aws/batch/job"
#: Container Insights' Fluent Bit DaemonSet: one group per cluster for application logs, streams
#: named ``${HOST_NAME}-`` + the tail tag of ``/var/log/containers/<pod>_<ns>_<container>-<id>.log``.
DEFAULT_EKS_LOG_GROUP = "/aws/containerinsights/{cluster}/application"
DEFAULT_EKS_LOG_STREAM_PREFIX = (
    "{node_name}-application.var.log.containers.{pod_name}_{namespace}_{container_name}-"
)
DEFAULT_EKS_LOG_RECORD_KEY = "log"
#: The name Kubernetes pods of AWS Batch give a container the job definition left unnamed.
DEFAULT_EKS_CONTAINER_NAME = "default"
EKS_LOG_PLACEHOLDERS = ("cluster", "namespace", "pod_name", "node_name", "container_name")
_EKS_CLUSTER_ARN = re.compile(r"^arn:aws[a-z-]*:eks:[^:]*:\d*:cluster/(?P<name>.+)$")


class JobKind(str, Enum):
    """The kinds of AWS Batch jobs, as their descriptions tell them apart."""

    CONTAINER = "container"
    ECS = "ecs"
    EKS = "eks"
    MULTI_NODE = "multi-node"
    NODE = "node"


@dataclass(frozen=True)
class LogLocation:
    """Where one part's log is in CloudWatch Logs: a stream, or (EKS) the prefix of its streams.

    ``record_key``: the events are JSON records (Fluent Bit sends the whole record) and the
    container's line is this member of each; None when each event is the line itself (awslogs).
    """

    group: str
    stream: str | None = None
    stream_prefix: str | None = None
    region: str | None = None
    record_key: str | None = None

    def __str__(self) -> str:
        name = self.stream if self.stream else f"{self.stream_prefix}*"
        return f"{name} (group {self.group})"


@dataclass(frozen=True)
class JobPart:
    """One part of an attempt with an exit code and a log of its own.

    :param name: the container's name ("" for the one container of a container job).
    :param label: how the task log names it ("" when the job has a single part).
    :param essential: an ECS container whose exit ends the task (every other kind: True).
    :param log: where its log is, or None when it has none in CloudWatch (yet).
    :param log_note: why there is no log location (another log driver, an unknown cluster).
    """

    name: str
    label: str
    exit_code: int | None = None
    reason: str | None = None
    essential: bool = True
    log: LogLocation | None = None
    log_note: str | None = None

    @property
    def failed(self) -> bool:
        """Return whether this part ended with a non-zero exit code."""
        return self.exit_code is not None and self.exit_code != 0

    def outcome(self) -> str:
        """This part's end as text: ``exit code 5, reason``."""
        text = f"exit code {self.exit_code}"
        return f"{text}, {self.reason}" if self.reason else text


@dataclass(frozen=True)
class AttemptView:
    """One attempt of a job: its number (from 1), why it ended, and its parts.

    ``pod_name`` is the pod of an EKS attempt (each attempt is a new pod).
    """

    number: int
    parts: tuple[JobPart, ...]
    status_reason: str | None = None
    started_at: int | None = None
    stopped_at: int | None = None
    pod_name: str | None = None

    def streams(self) -> tuple[str, ...]:
        """Return the exact log streams of this attempt's parts."""
        return tuple(part.log.stream for part in self.parts if part.log is not None and part.log.stream)

    def summary(self) -> str:
        """One attempt as text: each part's exit code, then why it ended."""
        labelled = [p for p in self.parts if p.exit_code is not None or p.reason]
        if len(self.parts) == 1 or not labelled:
            part = self.parts[0] if self.parts else JobPart(name="", label="")
            reason = self.status_reason or part.reason or ""
            return f"exit code {part.exit_code}, {reason}".rstrip(", ")
        codes = "; ".join(f"{part.label} exit code {part.exit_code}" for part in labelled)
        return f"{codes}, {self.status_reason}" if self.status_reason else codes


@dataclass(frozen=True)
class EksLogConvention:
    """Where EKS jobs' container logs are: templates over the placeholders of EKS_LOG_PLACEHOLDERS.

    :param group: the log group, e.g. ``/aws/containerinsights/{cluster}/application``.
    :param stream_prefix: what every stream of one container of one pod starts with.
    :param record_key: the member of each event's JSON record that holds the container's line
        (Fluent Bit's CloudWatch output sends the whole record, the line under ``log``, unless its
        ``log_key`` option is set); None or "" when events are plain lines.
    """

    group: str = DEFAULT_EKS_LOG_GROUP
    stream_prefix: str = DEFAULT_EKS_LOG_STREAM_PREFIX
    record_key: str | None = DEFAULT_EKS_LOG_RECORD_KEY

    def __post_init__(self) -> None:
        for name, template in (("eks_log_group", self.group), ("eks_log_stream_prefix", self.stream_prefix)):
            unknown = sorted(set(re.findall(r"{([^{}]*)}", template)) - set(EKS_LOG_PLACEHOLDERS))
            if unknown:
                raise ValueError(
                    f"{name}={template!r}: unknown placeholder(s) {', '.join(unknown)}; "
                    f"use {', '.join('{' + p + '}' for p in EKS_LOG_PLACEHOLDERS)}"
                )

    def location(self, values: Mapping[str, str | None]) -> LogLocation | str:
        """Return the location for these values, or the text naming what is not known yet."""
        needed = set(re.findall(r"{([^{}]*)}", self.group + self.stream_prefix))
        missing = sorted(name for name in needed if not values.get(name))
        if missing:
            return f"not known yet: {', '.join(missing)}"
        filled = {name: str(values.get(name) or "") for name in EKS_LOG_PLACEHOLDERS}
        group, prefix = self.group.format(**filled), self.stream_prefix.format(**filled)
        return LogLocation(group=group, stream_prefix=prefix, record_key=self.record_key or None)


@dataclass(frozen=True)
class EksCluster:
    """The cluster and namespace an EKS job's pods run in (from its compute environment)."""

    name: str
    namespace: str | None = None


def eks_cluster_name(cluster_arn: str | None) -> str | None:
    """Return the cluster name of an EKS cluster ARN (``...:cluster/NAME``)."""
    match = _EKS_CLUSTER_ARN.match(cluster_arn or "")
    return match.group("name") if match else None


@dataclass(frozen=True)
class JobAnatomy:
    """A job's structure: kind, place in an array or multi-node job, attempts, parts and logs.

    ``current`` is the latest attempt as the job's own members describe it (running, or the
    last one when the job ended); ``attempts`` are the attempts that ended, oldest first.
    """

    job_id: str
    job_name: str
    status: str
    kind: JobKind
    platform: str
    status_reason: str | None = None
    array_size: int | None = None
    array_index: int | None = None
    num_nodes: int | None = None
    main_node: int | None = None
    node_index: int | None = None
    current: AttemptView | None = None
    attempts: tuple[AttemptView, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def is_array_parent(self) -> bool:
        return self.array_size is not None

    @property
    def is_multi_node_parent(self) -> bool:
        return self.kind is JobKind.MULTI_NODE

    @property
    def has_own_logs(self) -> bool:
        """Return whether the job itself has parts with logs (not an array or multi-node parent)."""
        return not self.is_array_parent and not self.is_multi_node_parent

    @property
    def a_description(self) -> str:
        """The description with its article: ``an EKS job``, ``a multi-node parallel job...``."""
        text = self.description
        return f"{'an' if text[:1].lower() in 'aeiou' else 'a'} {text}"

    @property
    def description(self) -> str:
        """The kind in words: ``EKS job``, ``array job of 4 ECS multi-container jobs``..."""
        words = {
            JobKind.CONTAINER: f"{self.platform} container job",
            JobKind.ECS: f"{self.platform} ECS multi-container job",
            JobKind.EKS: "EKS job",
            JobKind.MULTI_NODE: f"multi-node parallel job of {self.num_nodes} nodes",
            JobKind.NODE: f"node {self.node_index} of a multi-node parallel job",
        }[self.kind]
        if self.array_size is not None:
            return f"array job of {self.array_size} children ({words})"
        if self.array_index is not None:
            return f"child {self.array_index} of an array job ({words})"
        return words

    def node_job_ids(self) -> list[str]:
        """Return the ids of a multi-node parent's node jobs, ``<jobId>#<N>``, in node order."""
        if not self.is_multi_node_parent or not self.num_nodes:
            return []
        return [f"{self.job_id}#{index}" for index in range(self.num_nodes)]

    def child_job_id(self, index: int) -> str:
        """Return the id of an array parent's child ``index``: ``<jobId>:<index>``."""
        return f"{self.job_id}:{index}"

    @property
    def exit_code(self) -> int | None:
        """The job's exit code: the first failed essential part's, else the first essential part's."""
        attempt = self.latest_attempt
        if attempt is None or not attempt.parts:
            return None
        failed = [part for part in failed_parts(attempt.parts) if part.essential]
        if failed:
            return failed[0].exit_code
        codes = [part.exit_code for part in attempt.parts if part.essential and part.exit_code is not None]
        return codes[0] if codes else None

    @property
    def latest_attempt(self) -> AttemptView | None:
        """The current attempt if it says anything, else the last attempt that ended."""
        if self.current is not None and any(p.exit_code is not None for p in self.current.parts):
            return self.current
        if self.attempts:
            return self.attempts[-1]
        return self.current

    def failed_parts(self) -> tuple[JobPart, ...]:
        """The parts of the latest attempt that failed, essential ones first."""
        attempt = self.latest_attempt
        return failed_parts(attempt.parts) if attempt is not None else ()

    def exit_codes(self) -> dict[str, int]:
        """Each part's exit code in the latest attempt, by part name ("" for a single container)."""
        attempt = self.latest_attempt
        if attempt is None:
            return {}
        return {part.name: part.exit_code for part in attempt.parts if part.exit_code is not None}

    def log_locations(self) -> list[tuple[int, JobPart]]:
        """Every part with a log location, of every attempt, oldest attempt first."""
        found: list[tuple[int, JobPart]] = []
        seen: set[LogLocation] = set()
        for attempt in (*self.attempts, *(() if self.current is None else (self.current,))):
            for part in attempt.parts:
                if part.log is not None and part.log not in seen:
                    seen.add(part.log)
                    found.append((attempt.number, part))
        return found


def failed_parts(parts: Sequence[JobPart]) -> tuple[JobPart, ...]:
    """Return the parts that failed: essential ones first (they decide the job), then the others."""
    failed = [part for part in parts if part.failed]
    return tuple(sorted(failed, key=lambda part: not part.essential))


# -- reading ---------------------------------------------------------------------------------


def kind_of(job: Mapping[str, Any]) -> JobKind:
    """Return the kind a DescribeJobs answer describes."""
    if job.get("nodeDetails"):
        return JobKind.NODE
    if job.get("nodeProperties"):
        return JobKind.MULTI_NODE
    if job.get("eksProperties") or job.get("eksAttempts"):
        return JobKind.EKS
    if job.get("ecsProperties"):
        return JobKind.ECS
    return JobKind.CONTAINER


def _platform(job: Mapping[str, Any], kind: JobKind) -> str:
    if kind is JobKind.EKS:
        return "EKS"
    return "Fargate" if "FARGATE" in (job.get("platformCapabilities") or []) else "EC2"


def awslogs_location(
    log_configuration: Mapping[str, Any] | None, stream: str | None
) -> tuple[LogLocation | None, str | None]:
    """Return where an awslogs container writes (and a note when it writes elsewhere).

    No ``logConfiguration`` means AWS Batch's default: awslogs to ``/aws/batch/job``.
    """
    configuration = log_configuration or {}
    driver = configuration.get("logDriver", "awslogs")
    if driver != "awslogs":
        return None, f"its log driver is {driver}, not awslogs: its output is not in CloudWatch Logs"
    if not stream:
        return None, None
    options = configuration.get("options") or {}
    group = str(options.get("awslogs-group") or DEFAULT_LOG_GROUP)
    region = options.get("awslogs-region")
    return LogLocation(group=group, stream=str(stream), region=str(region) if region else None), None


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def _container_part(
    container: Mapping[str, Any],
    log_configuration: Mapping[str, Any] | None,
    *,
    name: str = "",
    label: str = "",
) -> JobPart:
    log, note = awslogs_location(log_configuration, container.get("logStreamName"))
    return JobPart(
        name=name,
        label=label,
        exit_code=_int(container.get("exitCode")),
        reason=container.get("reason"),
        log=log,
        log_note=note,
    )


def _number_attempts(
    current: AttemptView | None, attempts: list[AttemptView], terminal: bool, same: Any
) -> AttemptView | None:
    """Give the current attempt its number: that of the ended attempt it is, else the next one."""
    if current is None:
        return None
    for attempt in reversed(attempts):
        if same(current, attempt):
            return _renumber(current, attempt.number)
    if terminal and attempts and not current.streams() and current.pod_name is None:
        return _renumber(current, attempts[-1].number)
    return _renumber(current, len(attempts) + 1)


def _renumber(attempt: AttemptView, number: int) -> AttemptView:
    return AttemptView(
        number=number,
        parts=attempt.parts,
        status_reason=attempt.status_reason,
        started_at=attempt.started_at,
        stopped_at=attempt.stopped_at,
        pod_name=attempt.pod_name,
    )


def _same_streams(current: AttemptView, attempt: AttemptView) -> bool:
    streams = set(current.streams())
    return bool(streams) and streams <= set(attempt.streams())


def _read_container(job: Mapping[str, Any]) -> tuple[AttemptView | None, list[AttemptView]]:
    container = job.get("container") or {}
    log_configuration = container.get("logConfiguration")
    attempts = [
        AttemptView(
            number=number,
            parts=(_container_part(attempt.get("container") or {}, log_configuration),),
            status_reason=attempt.get("statusReason"),
            started_at=attempt.get("startedAt"),
            stopped_at=attempt.get("stoppedAt"),
        )
        for number, attempt in enumerate(job.get("attempts") or [], start=1)
    ]
    current = AttemptView(number=0, parts=(_container_part(container, log_configuration),))
    return current, attempts


def _ecs_parts(
    containers: Sequence[Mapping[str, Any]], configured: Mapping[str, Mapping[str, Any]]
) -> tuple[JobPart, ...]:
    """The parts of an ECS task: each container, labelled by name when there are several."""
    several = len(configured) > 1 or len(containers) > 1
    parts = []
    for container in containers:
        name = str(container.get("name") or "")
        definition = configured.get(name, {})
        part = _container_part(
            container,
            container.get("logConfiguration") or definition.get("logConfiguration"),
            name=name,
            label=f"container {name}" if several else "",
        )
        essential = definition.get("essential", container.get("essential"))
        parts.append(_replace_essential(part, essential is not False))
    return tuple(parts)


def _replace_essential(part: JobPart, essential: bool) -> JobPart:
    return JobPart(part.name, part.label, part.exit_code, part.reason, essential, part.log, part.log_note)


def _read_ecs(job: Mapping[str, Any]) -> tuple[AttemptView | None, list[AttemptView]]:
    tasks = (job.get("ecsProperties") or {}).get("taskProperties") or []
    containers = [container for task in tasks for container in task.get("containers") or []]
    configured = {str(c.get("name") or ""): c for c in containers}
    attempts = []
    for number, attempt in enumerate(job.get("attempts") or [], start=1):
        attempt_containers = [
            c for task in attempt.get("taskProperties") or [] for c in task.get("containers") or []
        ]
        attempts.append(
            AttemptView(
                number=number,
                parts=_ecs_parts(attempt_containers, configured),
                status_reason=attempt.get("statusReason"),
                started_at=attempt.get("startedAt"),
                stopped_at=attempt.get("stoppedAt"),
            )
        )
    return AttemptView(number=0, parts=_ecs_parts(containers, configured)), attempts


def _eks_parts(
    containers: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    values: Mapping[str, str | None],
    convention: EksLogConvention,
) -> tuple[JobPart, ...]:
    several = len(names) > 1
    by_name: dict[str, Mapping[str, Any]] = {}
    for index, container in enumerate(containers):  # an unnamed one is the pod's container there
        fallback = names[index] if index < len(names) else DEFAULT_EKS_CONTAINER_NAME
        by_name[str(container.get("name") or fallback)] = container
    ordered = list(names) + [name for name in by_name if name not in names]
    parts = []
    for name in ordered:
        container = by_name.get(name, {})
        located = convention.location({**values, "container_name": name})
        parts.append(
            JobPart(
                name=name,
                label=f"container {name}" if several else "",
                exit_code=_int(container.get("exitCode")),
                reason=container.get("reason"),
                log=located if isinstance(located, LogLocation) else None,
                log_note=None if isinstance(located, LogLocation) else str(located),
            )
        )
    return tuple(parts)


def _read_eks(
    job: Mapping[str, Any], convention: EksLogConvention, cluster: EksCluster | None
) -> tuple[AttemptView | None, list[AttemptView]]:
    pod = (job.get("eksProperties") or {}).get("podProperties") or {}
    eks_attempts = job.get("eksAttempts") or []
    names = [str(c.get("name") or "") for c in pod.get("containers") or []]
    if not all(names):  # AWS names an unnamed container; take the names a pod was given
        ran = [str(c.get("name") or "") for c in (eks_attempts[-1].get("containers") if eks_attempts else [])]
        names = (
            ran
            if len(ran) == len(names) and all(ran)
            else [name or DEFAULT_EKS_CONTAINER_NAME for name in names]
        )
    known_cluster = cluster.name if cluster else None
    known_namespace = cluster.namespace if cluster else None
    for attempt in eks_attempts:  # the description's own values win over the compute environment's
        known_cluster = eks_cluster_name(attempt.get("eksClusterArn")) or known_cluster
        known_namespace = attempt.get("podNamespace") or known_namespace
    attempts = []
    for number, attempt in enumerate(eks_attempts, start=1):
        values = {
            "cluster": eks_cluster_name(attempt.get("eksClusterArn")) or known_cluster,
            "namespace": attempt.get("podNamespace") or known_namespace,
            "pod_name": attempt.get("podName"),
            "node_name": attempt.get("nodeName"),
        }
        attempts.append(
            AttemptView(
                number=number,
                parts=_eks_parts(attempt.get("containers") or [], names, values, convention),
                status_reason=attempt.get("statusReason"),
                started_at=attempt.get("startedAt"),
                stopped_at=attempt.get("stoppedAt"),
                pod_name=attempt.get("podName"),
            )
        )
    current = None
    if pod.get("podName"):
        values = {
            "cluster": known_cluster,
            "namespace": known_namespace,
            "pod_name": pod.get("podName"),
            "node_name": pod.get("nodeName"),
        }
        parts = _eks_parts(pod.get("containers") or [], names, values, convention)
        current = AttemptView(number=0, parts=parts, pod_name=pod.get("podName"))
    return current, attempts


def _same_pod(current: AttemptView, attempt: AttemptView) -> bool:
    return current.pod_name is not None and current.pod_name == attempt.pod_name


def read_job(
    job: Mapping[str, Any],
    *,
    eks_logs: EksLogConvention | None = None,
    eks_cluster: EksCluster | None = None,
) -> JobAnatomy:
    """Return the anatomy of one DescribeJobs answer (any kind).

    :param eks_logs: where EKS jobs' container logs are (default: Container Insights).
    :param eks_cluster: the cluster and namespace of an EKS job's compute environment, for an
        attempt that is still running (an ended attempt names its own in ``eksAttempts``).
    """
    kind = kind_of(job)
    if kind is JobKind.EKS:
        current, attempts = _read_eks(job, eks_logs or EksLogConvention(), eks_cluster)
        same = _same_pod
    elif kind is JobKind.ECS:
        current, attempts = _read_ecs(job)
        same = _same_streams
    else:
        current, attempts = _read_container(job)
        same = _same_streams
    terminal = job.get("status") in ("SUCCEEDED", "FAILED")
    array = job.get("arrayProperties") or {}
    node_properties = job.get("nodeProperties") or {}
    node_details = job.get("nodeDetails") or {}
    notes = tuple(
        dict.fromkeys(part.log_note for a in (*attempts, current) if a for part in a.parts if part.log_note)
    )
    if kind is JobKind.MULTI_NODE:
        current = None  # the parent runs nothing itself: its nodes are jobs of their own
    return JobAnatomy(
        job_id=str(job.get("jobId") or ""),
        job_name=str(job.get("jobName") or ""),
        status=str(job.get("status") or ""),
        kind=kind,
        platform=_platform(job, kind),
        status_reason=job.get("statusReason"),
        array_size=_int(array.get("size")),
        array_index=_int(array.get("index")),
        num_nodes=_int(node_properties.get("numNodes")),
        main_node=_int(node_properties.get("mainNode")),
        node_index=_int(node_details.get("nodeIndex")),
        current=_number_attempts(current, attempts, terminal, same),
        attempts=tuple(attempts),
        notes=notes,
    )

"""The pod behind one attempt of an EKS job: its names, its containers' fates, where its logs go.

AWS Batch turns each attempt of an EKS job into a Kubernetes pod named ``aws-batch.<uuid>`` in the
compute environment's namespace, on a node named after its private address; each retry is a new
pod. DescribeJobs shows the running pod in ``eksProperties.podProperties`` (``podName``,
``nodeName``) and every finished one in ``eksAttempts``.

An EKS job has no log stream of its own: container output goes where the cluster ships it. The
emulator ships it as CloudWatch Container Insights' Fluent Bit DaemonSet does
(``application-log.conf``): the tail input tags ``/var/log/containers/<pod>_<namespace>_<container>-
<container id>.log`` as ``application.var.log.containers.<file>``, and the ``cloudwatch_logs``
output writes to ``/aws/containerinsights/<cluster>/application`` under the stream
``${HOST_NAME}-<tag>``. Without ``log_key`` Fluent Bit sends the whole record, so each event's
message is a JSON document: the line under ``log``, with ``stream``, ``time`` and the
``kubernetes`` metadata its kubernetes filter adds.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_batch_local.networking import private_dns_name, private_ipv4_address
from aws_batch_local.process import CloudWatchLogSink, LogEvents

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: The container name Kubernetes shows when the job definition names none (AWS's reference says
#: "Default"; the pods of its user guide show ``default``, the only form Kubernetes accepts).
DEFAULT_CONTAINER_NAME = "default"
POD_NAME_PREFIX = "aws-batch."
#: Kubernetes' reasons for a terminated container.
COMPLETED_REASON = "Completed"
ERROR_REASON = "Error"


def cluster_name(cluster_arn: str) -> str:
    """Return the cluster name of an EKS cluster ARN (``arn:aws:eks:...:cluster/<name>``)."""
    return cluster_arn.rsplit("/", 1)[-1]


def application_log_group(cluster_arn: str) -> str:
    """Return Container Insights' log group of a cluster's container output."""
    return f"/aws/containerinsights/{cluster_name(cluster_arn)}/application"


def container_log_file(pod_name: str, namespace: str, container_name: str, container_id: str) -> str:
    """Return the kubelet's name for a container's log under ``/var/log/containers/``."""
    return f"{pod_name}_{namespace}_{container_name}-{container_id}.log"


def application_log_stream(
    node_name: str, pod_name: str, namespace: str, container_name: str, container_id: str
) -> str:
    """Return Fluent Bit's stream name: ``${HOST_NAME}-`` then the tail tag of the container's log."""
    log_file = container_log_file(pod_name, namespace, container_name, container_id)
    return f"{node_name}-application.var.log.containers.{log_file}"


def new_container_id() -> str:
    """Return a container runtime id: 64 hexadecimal digits."""
    return uuid.uuid4().hex + uuid.uuid4().hex


@dataclass
class PodContainer:
    """One container of a pod (an init container or an application container) and its fate."""

    name: str
    image: str
    container_id: str | None = None
    exit_code: int | None = None
    reason: str | None = None

    @property
    def finished(self) -> bool:
        """Return whether the container has ended (exited, or could not start)."""
        return self.exit_code is not None or self.reason is not None

    @property
    def succeeded(self) -> bool:
        """Return whether the container exited with code 0."""
        return self.exit_code == 0

    def describe(self) -> dict[str, Any]:
        """Return the EksAttemptContainerDetail shape."""
        detail: dict[str, Any] = {"name": self.name}
        optional = {"containerID": self.container_id, "exitCode": self.exit_code, "reason": self.reason}
        detail.update({key: value for key, value in optional.items() if value is not None})
        return detail

    def status(self) -> dict[str, Any]:
        """Return what DescribeJobs adds to the container in ``podProperties`` (exitCode, reason)."""
        optional = {"exitCode": self.exit_code, "reason": self.reason}
        return {key: value for key, value in optional.items() if value is not None}


def _pod_containers(containers: Sequence[Mapping[str, Any]]) -> list[PodContainer]:
    return [
        PodContainer(name=str(item.get("name") or DEFAULT_CONTAINER_NAME), image=str(item.get("image", "")))
        for item in containers
    ]


@dataclass(eq=False)
class EksPod:
    """The pod of one attempt. Units number the init containers first, then the containers."""

    name: str
    uid: str
    namespace: str
    cluster_arn: str
    node_name: str
    init_containers: list[PodContainer] = field(default_factory=list)
    containers: list[PodContainer] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        eks_configuration: Mapping[str, str],
        init_containers: Sequence[Mapping[str, Any]],
        containers: Sequence[Mapping[str, Any]],
        environment: Any,
        region: str,
    ) -> EksPod:
        """Return a new pod for the compute environment's cluster and namespace, on a new node."""
        return cls(
            name=f"{POD_NAME_PREFIX}{uuid.uuid4()}",
            uid=str(uuid.uuid4()),
            namespace=str(eks_configuration.get("kubernetesNamespace", "default")),
            cluster_arn=str(eks_configuration.get("eksClusterArn", "")),
            node_name=private_dns_name(private_ipv4_address(environment), region),
            init_containers=_pod_containers(init_containers),
            containers=_pod_containers(containers),
        )

    @property
    def units(self) -> list[PodContainer]:
        """Return the init containers, then the application containers."""
        return [*self.init_containers, *self.containers]

    def start(self, unit: int) -> tuple[str, str]:
        """Give a container its runtime id as it starts; return its log group and stream."""
        container = self.units[unit]
        container.container_id = new_container_id()
        stream = application_log_stream(
            self.node_name, self.name, self.namespace, container.name, container.container_id
        )
        return application_log_group(self.cluster_arn), stream

    def record_exit(self, unit: int, exit_code: int) -> str:
        """Record a container's exit code and Kubernetes' reason for it; return the reason."""
        container = self.units[unit]
        container.exit_code = exit_code
        container.reason = COMPLETED_REASON if exit_code == 0 else ERROR_REASON
        return container.reason

    def record_not_started(self, unit: int, reason: str) -> None:
        """Record why a container could not start."""
        self.units[unit].reason = reason

    @property
    def succeeded(self) -> bool:
        """Return whether every init container and every container exited with code 0."""
        return all(container.succeeded for container in self.units)

    def failing_exit_code(self) -> int | None:
        """Return the exit code of the first container that did not succeed (retry rules match it)."""
        for container in [*self.containers, *self.init_containers]:
            if container.exit_code not in (None, 0):
                return container.exit_code
        return 0 if self.succeeded else None

    def failing_reason(self) -> str | None:
        """Return the reason of the first container that did not succeed."""
        for container in [*self.containers, *self.init_containers]:
            if not container.succeeded and container.reason:
                return container.reason
        return None

    def describe_attempt(self, started_at: int | None, stopped_at: int, status_reason: str) -> dict[str, Any]:
        """Return the EksAttemptDetail shape: every member botocore's model has."""
        detail: dict[str, Any] = {
            "containers": [container.describe() for container in self.containers],
            "initContainers": [container.describe() for container in self.init_containers],
            "eksClusterArn": self.cluster_arn,
            "podName": self.name,
            "podNamespace": self.namespace,
            "nodeName": self.node_name,
            "stoppedAt": stopped_at,
            "statusReason": status_reason,
        }
        if started_at is not None:
            detail["startedAt"] = started_at
        return detail


def _iso_time(timestamp_ms: int) -> str:
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def fluent_bit_record(message: str, timestamp_ms: int, pod: EksPod, container: PodContainer) -> str:
    """Return the record Fluent Bit sends for one line: the CRI fields plus the kubernetes metadata."""
    record: dict[str, Any] = {
        "time": _iso_time(timestamp_ms),
        "stream": "stdout",
        "_p": "F",
        "log": message,
        "kubernetes": {
            "pod_name": pod.name,
            "namespace_name": pod.namespace,
            "pod_id": pod.uid,
            "host": pod.node_name,
            "container_name": container.name,
            "docker_id": container.container_id,
            "container_image": container.image,
        },
    }
    try:
        parsed = json.loads(message)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):  # Merge_Log On, Merge_Log_Key log_processed
        record["log_processed"] = parsed
    return json.dumps(record, separators=(",", ":"))


class ContainerInsightsSink:
    """Write a pod container's lines to its Container Insights stream as Fluent Bit records."""

    def __init__(self, logs_backend: Any, pod: EksPod, unit: int, group: str, stream: str) -> None:
        self._sink = CloudWatchLogSink(logs_backend, group, stream)
        self._pod = pod
        self._container = pod.units[unit]
        self.group, self.stream = group, stream

    def write(self, events: LogEvents) -> None:
        """Put ``events`` (``{timestamp, message}``) into the stream, each message as a record."""
        self._sink.write(
            [
                {
                    "timestamp": event["timestamp"],
                    "message": fluent_bit_record(
                        event["message"], event["timestamp"], self._pod, self._container
                    ),
                }
                for event in events
            ]
        )

"""The nodes of a multi-node parallel (MNP) job: each one a job of its own, ``<parent id>#<index>``.

As AWS documents it: each node runs its node group's container (after ``nodeOverrides``) as an
ECS task of its own, with its own task ARN, log stream and exit code; DescribeJobs answers for
``<jobId>#<N>`` with ``nodeDetails``, and ``ListJobs(multiNodeJobId=...)`` lists the nodes. The
main node is launched first; the other nodes move to STARTING once it is RUNNING. A node moves to
SUCCEEDED or FAILED by its own exit code; the main node's exit ends the job and stops the other
nodes, while another node's failure changes nothing for the rest. Each attempt of the parent is
an attempt of every node.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aws_batch_local.arns import job_arn
from aws_batch_local.jobs import (
    FAILED,
    RUNNABLE,
    RUNNING,
    STARTING,
    SUCCEEDED,
    TERMINAL_STATUSES,
    Attempt,
    container_detail,
    now_ms,
)

if TYPE_CHECKING:
    from aws_batch_local.jobs import BatchJob
    from aws_batch_local.store import JobStore

NODE_SEPARATOR = "#"


@dataclass(eq=False)
class NodeJob:
    """One node of an MNP job, with the status and attempts DescribeJobs reports for it."""

    parent: BatchJob
    index: int
    job_id: str
    arn: str
    created_at: int
    status: str = RUNNABLE
    status_reason: str | None = None
    started_at: int | None = None
    stopped_at: int | None = None
    attempts: list[Attempt] = field(default_factory=list)
    task_arn: str | None = None
    container_instance_arn: str | None = None
    log_stream_name: str | None = None
    network_interfaces: list[dict[str, str]] = field(default_factory=list)
    exit_code: int | None = None
    reason: str | None = None

    @property
    def is_main(self) -> bool:
        """Return whether this node is the job's main node."""
        return self.index == self.parent.main_node

    @property
    def name(self) -> str:
        """Return the job name (the parent's), for ListJobs filters."""
        return self.parent.name

    @property
    def definition(self) -> Any:
        """Return the job definition (the parent's), for ListJobs filters."""
        return self.parent.definition

    @property
    def seq(self) -> int:
        """Return the node's place in ``ListJobs(multiNodeJobId=...)`` (its index)."""
        return self.index

    @property
    def container(self) -> dict[str, Any]:
        """Return the container this node runs: its node group's, overrides applied."""
        return self.parent.containers()[self.index]

    def _set(self, status: str, reason: str | None = None) -> None:
        self.status, self.status_reason = status, reason
        if status in TERMINAL_STATUSES:
            self.stopped_at = now_ms()

    def begin(self, task_arn: str, container_instance_arn: str | None) -> None:
        """Start an attempt: a new task; the main node STARTING, the others RUNNABLE until it runs."""
        self.task_arn, self.container_instance_arn = task_arn, container_instance_arn
        self.log_stream_name, self.exit_code, self.reason = None, None, None
        self.started_at, self.stopped_at = None, None
        self._set(STARTING if self.is_main else RUNNABLE)

    def launching(self) -> None:
        """Move a waiting node to STARTING (its main node is RUNNING)."""
        if self.status == RUNNABLE:
            self._set(STARTING)

    def running(
        self, log_stream_name: str, network_interfaces: list[dict[str, str]], started_at: int
    ) -> None:
        """The node's container runs: RUNNING, with its log stream and network interfaces."""
        self.log_stream_name = log_stream_name
        self.network_interfaces = copy.deepcopy(network_interfaces)
        self.started_at = started_at
        self._set(RUNNING)

    def ended(self, exit_code: int | None, reason: str | None, status_reason: str) -> None:
        """The node's container ended: SUCCEEDED or FAILED by its exit code; the attempt is recorded."""
        if self.status in TERMINAL_STATUSES:
            return
        self.exit_code, self.reason = exit_code, reason
        self._set(SUCCEEDED if exit_code == 0 and reason is None else FAILED, status_reason)
        self.attempts.append(
            Attempt(
                started_at=self.started_at,
                stopped_at=self.stopped_at or now_ms(),
                status_reason=status_reason,
                task_arn=self.task_arn,
                container_instance_arn=self.container_instance_arn,
                log_stream_name=self.log_stream_name,
                exit_code=exit_code,
                reason=reason,
                network_interfaces=copy.deepcopy(self.network_interfaces),
            )
        )

    def describe(self, tags: dict[str, str]) -> dict[str, Any]:
        """Return the JobDetail shape of the node: its own container, status, attempts, nodeDetails."""
        parent = self.parent
        runtime = {
            "exitCode": self.exit_code,
            "reason": self.reason,
            "logStreamName": self.log_stream_name,
            "taskArn": self.task_arn,
            "containerInstanceArn": self.container_instance_arn,
        }
        detail: dict[str, Any] = {
            "jobArn": self.arn,
            "jobName": parent.name,
            "jobId": self.job_id,
            "jobQueue": parent.queue.arn,
            "status": self.status,
            "attempts": [attempt.describe() for attempt in self.attempts],
            "createdAt": self.created_at,
            "dependsOn": [],
            "jobDefinition": parent.definition.arn,
            "parameters": dict(parent.parameters),
            "tags": tags,
            "propagateTags": bool(parent.propagate_tags),
            "platformCapabilities": list(parent.definition.platform_capabilities or []),
            "isCancelled": parent.is_cancelled,
            "isTerminated": parent.is_terminated,
            "container": container_detail(
                self.container, runtime, self.network_interfaces if self.task_arn else None
            ),
            "nodeDetails": {"nodeIndex": self.index, "isMainNode": self.is_main},
        }
        optional = {
            "statusReason": self.status_reason,
            "startedAt": self.started_at,
            "stoppedAt": self.stopped_at,
            "shareIdentifier": parent.share_identifier,
            "schedulingPriority": parent.scheduling_priority,
        }
        detail.update({key: value for key, value in optional.items() if value is not None})
        if parent.effective_retry_strategy:
            detail["retryStrategy"] = copy.deepcopy(parent.effective_retry_strategy)
        return detail

    def summary(self) -> dict[str, Any]:
        """Return the JobSummary shape ``ListJobs(multiNodeJobId=...)`` answers with."""
        summary: dict[str, Any] = {
            "jobArn": self.arn,
            "jobId": self.job_id,
            "jobName": self.parent.name,
            "createdAt": self.created_at,
            "status": self.status,
            "jobDefinition": self.parent.definition.arn,
            "isCancelled": self.parent.is_cancelled,
            "isTerminated": self.parent.is_terminated,
            "nodeProperties": {"isMainNode": self.is_main, "nodeIndex": self.index},
        }
        optional = {
            "statusReason": self.status_reason,
            "startedAt": self.started_at,
            "stoppedAt": self.stopped_at,
            "shareIdentifier": self.parent.share_identifier,
        }
        summary.update({key: value for key, value in optional.items() if value is not None})
        container = {key: value for key, value in (("exitCode", self.exit_code), ("reason", self.reason))}
        container = {key: value for key, value in container.items() if value is not None}
        if container:
            summary["container"] = container
        return summary


def ensure_nodes(parent: BatchJob, account_id: str, region: str) -> list[NodeJob]:
    """Create the parent's node jobs on its first attempt; return them."""
    if not parent.node_jobs:
        created_at = now_ms()
        for index in range(len(parent.containers())):
            job_id = f"{parent.job_id}{NODE_SEPARATOR}{index}"
            parent.node_jobs.append(
                NodeJob(
                    parent=parent,
                    index=index,
                    job_id=job_id,
                    arn=job_arn(account_id, region, job_id),
                    created_at=created_at,
                )
            )
    return parent.node_jobs


def find_node(store: JobStore, identifier: str) -> NodeJob | None:
    """Return the node job ``<parent id or ARN>#<index>`` names, if its parent has it."""
    parent_identifier, separator, index = identifier.rpartition(NODE_SEPARATOR)
    if not separator or not index.isdigit():
        return None
    parent = store.get(parent_identifier)
    if parent is None or int(index) >= len(parent.node_jobs):
        return None
    return parent.node_jobs[int(index)]


def end_unfinished_nodes(parent: BatchJob, status_reason: str) -> None:
    """End, FAILED, every node the attempt never ran or left unfinished (the parent has ended)."""
    for node in parent.node_jobs:
        node.ended(None, None, status_reason)

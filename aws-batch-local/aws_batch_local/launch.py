"""Build the process a job's container becomes: argument vector and environment, as Batch sets them."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import TYPE_CHECKING, Any

from aws_batch_local.jobs import EKS_KIND, MULTINODE_KIND
from aws_batch_local.process import LaunchSpec
from aws_batch_local.settings import (
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    EmulatorSettings,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aws_batch_local.jobs import BatchJob

BASE_ENVIRONMENT_NAMES = ("PATH", "HOME", "LANG", "TMPDIR")
NO_COMMAND_REASON = "CannotStartContainerError: Error response from daemon: No command specified"
#: Every node of the emulator runs on this machine: the main node is reached on loopback.
MAIN_NODE_ADDRESS = "127.0.0.1"


class LaunchError(Exception):
    """The container cannot start; the message is the statusReason Batch would report."""


def cannot_start_reason(argv0: str, error: Exception) -> str:
    """Return Docker's wording for an executable that cannot be started."""
    detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return (
        "CannotStartContainerError: Error response from daemon: failed to create shim task: "
        "OCI runtime create failed: runc create failed: unable to start container process: "
        f'exec: "{argv0}": {detail}: unknown'
    )


def container_argv(job: BatchJob, node_index: int) -> list[str]:
    """Return the exec-form command of a unit: ``command`` (and ``args`` for EKS)."""
    container = job.unit_container(node_index)
    argv = [str(part) for part in container.get("command") or []]
    if job.kind == EKS_KIND:
        argv += [str(part) for part in container.get("args") or []]
    if not argv:
        raise LaunchError(NO_COMMAND_REASON)
    return argv


def _declared_environment(job: BatchJob, node_index: int) -> list[Mapping[str, Any]]:
    container = job.unit_container(node_index)
    return container.get("env" if job.kind == EKS_KIND else "environment") or []


def batch_environment(job: BatchJob, attempt_number: int, node_index: int, node_count: int) -> dict[str, str]:
    """Return the AWS_BATCH_* variables the Batch agent sets in every container.

    A node of a multi-node job has the node job's id (``<jobId>#<index>``); only the nodes other
    than the main node get the main node's address.
    """
    multinode = job.kind == MULTINODE_KIND
    environment = {
        "AWS_BATCH_JOB_ID": f"{job.job_id}#{node_index}" if multinode else job.job_id,
        "AWS_BATCH_JQ_NAME": job.queue.name,
        "AWS_BATCH_CE_NAME": job.compute_environment.name if job.compute_environment is not None else "",
        "AWS_BATCH_JOB_ATTEMPT": str(attempt_number),
    }
    if job.array_index is not None:
        environment["AWS_BATCH_JOB_ARRAY_INDEX"] = str(job.array_index)
    if multinode:
        environment.update(
            {
                "AWS_BATCH_JOB_NODE_INDEX": str(node_index),
                "AWS_BATCH_JOB_NUM_NODES": str(node_count),
                "AWS_BATCH_JOB_MAIN_NODE_INDEX": str(job.main_node),
            }
        )
        if node_index != job.main_node:
            environment["AWS_BATCH_JOB_MAIN_NODE_PRIVATE_IPV4_ADDRESS"] = MAIN_NODE_ADDRESS
    return environment


def job_path(path: str) -> str:
    """Put the emulator's own interpreter first on PATH: ``python3`` in a job is "the image's"."""
    interpreter_dir = os.path.dirname(sys.executable)
    others = [entry for entry in path.split(os.pathsep) if entry and entry != interpreter_dir]
    return os.pathsep.join([interpreter_dir, *others])


def launch_spec(
    job: BatchJob,
    attempt_number: int,
    node_index: int,
    secrets: Mapping[str, str],
    settings: EmulatorSettings,
) -> LaunchSpec:
    """Return how to start node ``node_index`` of ``job``: no shell, the job's environment only."""
    environment = {name: os.environ[name] for name in BASE_ENVIRONMENT_NAMES if name in os.environ}
    environment["PATH"] = job_path(environment.get("PATH", ""))
    environment.update(
        {
            "AWS_DEFAULT_REGION": settings.region,
            "AWS_REGION": settings.region,
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
        }
    )
    if settings.endpoint_url:
        environment["AWS_ENDPOINT_URL"] = settings.endpoint_url
    environment.update(
        {str(item["name"]): str(item.get("value", "")) for item in _declared_environment(job, node_index)}
    )
    environment.update(secrets)
    environment.update(batch_environment(job, attempt_number, node_index, len(job.containers())))
    return LaunchSpec(
        argv=container_argv(job, node_index),
        env=environment,
        cwd=tempfile.gettempdir(),
    )

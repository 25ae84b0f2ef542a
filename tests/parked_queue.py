"""A job queue whose only compute environment is DISABLED: jobs sent to it stay RUNNABLE.

The view's tests need jobs that wait (why is it waiting?, the jobs page's counts, terminating a
waiting job); each builds its queue here, beside the emulator's own compute environment.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.conftest import EmulatorHandle


def until(what: str, check: Any, timeout: float = 30.0) -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def create_parked_queue(emulator: EmulatorHandle, prefix: str, max_vcpus: int = 8) -> tuple[str, str]:
    """Create a DISABLED EC2 compute environment (m5, ``max_vcpus``) and a queue on it alone, both
    VALID on return; return their names (``{prefix}-off-…``, ``{prefix}-…``)."""
    batch = emulator.client("batch")
    default = batch.describe_compute_environments(computeEnvironments=[emulator.compute_environment])[
        "computeEnvironments"
    ][0]
    resources = default["computeResources"]
    suffix = uuid.uuid4().hex[:6]
    environment, queue = f"{prefix}-off-{suffix}", f"{prefix}-{suffix}"
    batch.create_compute_environment(
        computeEnvironmentName=environment,
        type="MANAGED",
        state="DISABLED",
        serviceRole=default["serviceRole"],
        computeResources={
            "type": "EC2",
            "minvCpus": 0,
            "maxvCpus": max_vcpus,
            "instanceTypes": ["m5"],
            "instanceRole": resources["instanceRole"],
            "subnets": resources["subnets"],
            "securityGroupIds": resources["securityGroupIds"],
        },
    )
    until(
        "the compute environment to be VALID",
        lambda: (
            batch.describe_compute_environments(computeEnvironments=[environment])["computeEnvironments"][0][
                "status"
            ]
            == "VALID"
        ),
    )
    batch.create_job_queue(
        jobQueueName=queue,
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    until("the queue to be VALID", lambda: queue_status(batch, queue) == "VALID")
    return environment, queue


def delete_queue(emulator: EmulatorHandle, queue: str) -> None:
    """Disable ``queue``, wait until AWS has, and delete it."""
    batch = emulator.client("batch")
    batch.update_job_queue(jobQueue=queue, state="DISABLED")
    until("the queue to be disabled", lambda: queue_status(batch, queue) == "VALID")
    batch.delete_job_queue(jobQueue=queue)


def queue_status(batch: Any, queue: str) -> str:
    return str(batch.describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"])

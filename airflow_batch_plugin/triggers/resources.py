"""Triggers that wait for a compute environment or a job queue to be VALID, or DELETED.

Few of these wait at once (infrastructure changes are rare), so each trigger describes its one
resource per round with its own async client; throttles and transient faults back off.
"""

from __future__ import annotations

import asyncio
from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
from airflow_batch_plugin.hooks.retry import FaultRetry

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

TargetStatus = Literal["VALID", "DELETED"]


class BatchResourceTrigger(BaseTrigger):
    """Describe one resource every ``poll_interval`` seconds until it reaches ``target_status``.

    The base of the compute environment and job queue triggers below.
    """

    label: ClassVar[str]
    name_argument: ClassVar[str]

    def __init__(
        self,
        name: str,
        target_status: TargetStatus = "VALID",
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        poll_interval: float = 10.0,
    ) -> None:
        super().__init__()
        if target_status not in ("VALID", "DELETED"):
            raise ValueError(f"target_status={target_status!r}: must be 'VALID' or 'DELETED'")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval={poll_interval!r}: must be a positive number of seconds")
        self.name = name
        self.target_status: TargetStatus = target_status
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the keyword arguments that rebuild this trigger."""
        cls = type(self)
        return (
            f"{cls.__module__}.{cls.__qualname__}",
            {
                self.name_argument: self.name,
                "target_status": self.target_status,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "poll_interval": self.poll_interval,
            },
        )

    @abstractmethod
    async def describe(self, hook: BatchResourceHook, client: Any) -> dict[str, Any] | None:
        """Describe the resource once (None when it does not exist)."""

    def judge(self, current: dict[str, Any] | None) -> dict[str, Any] | None:
        """Return the event payload once the wait is over, else None."""
        gone = current is None or current.get("status") == "DELETED"
        if self.target_status == "DELETED":
            return self._event("success", "DELETED") if gone else None
        if current is None:
            return None  # not created yet
        status = current.get("status")
        if status == "INVALID":
            return self._event("failed", "INVALID", current.get("statusReason"))
        if status == "DELETED":
            return self._event("failed", "DELETED", f"{self.label} {self.name} was deleted")
        if status == "VALID":
            return self._event("success", "VALID")
        return None

    def _event(self, outcome: str, status: str, reason: str | None = None) -> dict[str, Any]:
        return {"status": outcome, "name": self.name, "resource_status": status, "reason": reason}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the resource is VALID (failed on INVALID) or DELETED; yield one event."""
        hook = BatchResourceHook(aws_conn_id=self.aws_conn_id, region_name=self.region_name)
        retry = FaultRetry(f"{self.label} {self.name}", deadline=None)
        async with await hook.async_client() as client:
            while True:
                try:
                    current = await self.describe(hook, client)
                except Exception as error:
                    wait = retry.delay_after(error)
                    if wait is None:
                        raise
                    await asyncio.sleep(wait)
                    continue
                retry.succeeded()
                event = self.judge(current)
                if event is not None:
                    break
                state = "does not exist (yet)" if current is None else f"is {current.get('status')}"
                self.log.info("%s %s %s", self.label, self.name, state)
                await asyncio.sleep(self.poll_interval)
        yield TriggerEvent(event)


class BatchComputeEnvironmentTrigger(BatchResourceTrigger):
    """Wait until a compute environment is VALID (event ``failed`` if INVALID) or DELETED.

    Events: ``{"status": "success" | "failed", "name", "resource_status", "reason"}``.

    :param compute_environment: name or ARN.
    :param target_status: ``"VALID"`` (default) or ``"DELETED"`` (gone counts as deleted).
    :param poll_interval: seconds between DescribeComputeEnvironments calls.
    """

    label = "compute environment"
    name_argument = "compute_environment"

    def __init__(self, compute_environment: str, **kwargs: Any) -> None:
        super().__init__(name=compute_environment, **kwargs)

    async def describe(self, hook: BatchResourceHook, client: Any) -> dict[str, Any] | None:
        return await hook.async_describe_compute_environment(client, self.name)


class BatchJobQueueTrigger(BatchResourceTrigger):
    """Wait until a job queue is VALID (event ``failed`` if INVALID) or DELETED.

    Events: ``{"status": "success" | "failed", "name", "resource_status", "reason"}``.

    :param job_queue: name or ARN.
    :param target_status: ``"VALID"`` (default) or ``"DELETED"``.
    :param poll_interval: seconds between DescribeJobQueues calls.
    """

    label = "job queue"
    name_argument = "job_queue"

    def __init__(self, job_queue: str, **kwargs: Any) -> None:
        super().__init__(name=job_queue, **kwargs)

    async def describe(self, hook: BatchResourceHook, client: Any) -> dict[str, Any] | None:
        return await hook.async_describe_job_queue(client, self.name)

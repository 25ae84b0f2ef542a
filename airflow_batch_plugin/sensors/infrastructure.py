"""Sensors that wait for a compute environment or job queue to be VALID (or DELETED)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields

from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
from airflow_batch_plugin.resources import (
    COMPUTE_ENVIRONMENT,
    JOB_QUEUE,
    BatchResourceInvalid,
    ResourceKind,
    is_gone,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

TargetStatus = Literal["VALID", "DELETED"]


class _BatchResourceSensor(AwsBaseSensor[BatchResourceHook]):
    aws_hook_class = BatchResourceHook
    template_fields: Sequence[str] = (*aws_template_fields(), "name")
    kind: ClassVar[ResourceKind]

    def __init__(self, *, name: str, target_status: TargetStatus = "VALID", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if target_status not in ("VALID", "DELETED"):
            raise ValueError(f"target_status={target_status!r}: must be 'VALID' or 'DELETED'")
        self.name = name
        self.target_status = target_status

    def poke(self, context: Context) -> bool:
        current = self.kind.describe(self.hook, self.name)
        if self.target_status == "DELETED":
            return is_gone(current)
        if current is None:
            self.log.info("%s %s does not exist (yet)", self.kind.label, self.name)
            return False
        if current.get("status") == "INVALID":
            raise BatchResourceInvalid(
                f"{self.kind.label} {self.name} is INVALID: {current.get('statusReason')}"
            )
        self.log.info(
            "%s %s is %s (%s)", self.kind.label, self.name, current.get("status"), current.get("state")
        )
        return current.get("status") == "VALID"


class BatchComputeEnvironmentSensor(_BatchResourceSensor):
    """Wait until a compute environment is VALID (failing if INVALID) or, if asked, DELETED.

    :param compute_environment: name or ARN.
    :param target_status: ``"VALID"`` (default) or ``"DELETED"`` (gone counts as deleted).
    """

    kind = COMPUTE_ENVIRONMENT

    def __init__(self, *, compute_environment: str, **kwargs: Any) -> None:
        super().__init__(name=compute_environment, **kwargs)


class BatchJobQueueSensor(_BatchResourceSensor):
    """Wait until a job queue is VALID (failing if INVALID) or, if asked, DELETED.

    :param job_queue: name or ARN.
    :param target_status: ``"VALID"`` (default) or ``"DELETED"``.
    """

    kind = JOB_QUEUE

    def __init__(self, *, job_queue: str, **kwargs: Any) -> None:
        super().__init__(name=job_queue, **kwargs)

"""Sensors that wait for a compute environment or job queue to be VALID (or DELETED)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import conf

from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
from airflow_batch_plugin.links import BatchComputeEnvironmentLink, BatchJobQueueLink, link_target
from airflow_batch_plugin.resources import (
    COMPUTE_ENVIRONMENT,
    JOB_QUEUE,
    BatchResourceInvalid,
    ResourceKind,
    is_gone,
)
from airflow_batch_plugin.triggers.resources import (
    BatchComputeEnvironmentTrigger,
    BatchJobQueueTrigger,
    BatchResourceTrigger,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

TargetStatus = Literal["VALID", "DELETED"]


class _BatchResourceSensor(AwsBaseSensor[BatchResourceHook]):
    aws_hook_class = BatchResourceHook
    template_fields: Sequence[str] = (*aws_template_fields(), "name")
    kind: ClassVar[ResourceKind]
    trigger_class: ClassVar[type[BatchResourceTrigger]]

    def __init__(
        self,
        *,
        name: str,
        target_status: TargetStatus = "VALID",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if target_status not in ("VALID", "DELETED"):
            raise ValueError(f"target_status={target_status!r}: must be 'VALID' or 'DELETED'")
        self.name = name
        self.target_status: TargetStatus = target_status
        self.deferrable = deferrable

    def execute(self, context: Context) -> Any:
        """Poke until done, or (deferrable) poke once and then wait in the triggerer."""
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        self.defer(
            trigger=self.trigger_class(
                self.name,
                target_status=self.target_status,
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                poll_interval=max(float(self.poke_interval), 0.001),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        """Resume after the trigger fired: succeed, or fail with the resource's statusReason."""
        if event.get("status") != "success":
            raise BatchResourceInvalid(
                f"{self.kind.label} {self.name} is {event.get('resource_status')}: {event.get('reason')}"
            )
        self.log.info("%s %s is %s", self.kind.label, self.name, event.get("resource_status"))

    def poke(self, context: Context) -> bool:
        current = self.kind.describe(self.hook, self.name)
        if self.target_status == "DELETED":
            return is_gone(current)
        if current is None:
            self.log.info("%s %s does not exist (yet)", self.kind.label, self.name)
            return False
        self._persist_link(context, current)
        if current.get("status") == "INVALID":
            raise BatchResourceInvalid(
                f"{self.kind.label} {self.name} is INVALID: {current.get('statusReason')}"
            )
        self.log.info(
            "%s %s is %s (%s)", self.kind.label, self.name, current.get("status"), current.get("state")
        )
        return current.get("status") == "VALID"

    def _persist_link(self, context: Context, current: dict[str, Any]) -> None:
        """Store the link to the resource once (the sensor's subclasses say which link)."""


class BatchComputeEnvironmentSensor(_BatchResourceSensor):
    """Wait until a compute environment is VALID (failing if INVALID) or, if asked, DELETED.

    :param compute_environment: name or ARN.
    :param target_status: ``"VALID"`` (default) or ``"DELETED"`` (gone counts as deleted).
    :param deferrable: wait in the triggerer, polling every ``poke_interval`` seconds (default:
        the ``[operators] default_deferrable`` option).
    """

    kind = COMPUTE_ENVIRONMENT
    trigger_class = BatchComputeEnvironmentTrigger
    operator_extra_links = (BatchComputeEnvironmentLink(),)

    def __init__(self, *, compute_environment: str, **kwargs: Any) -> None:
        super().__init__(name=compute_environment, **kwargs)

    def _persist_link(self, context: Context, current: dict[str, Any]) -> None:
        arn = str(current.get("computeEnvironmentArn") or self.name)
        BatchComputeEnvironmentLink.persist(context, link_target(self.hook).compute_environment(arn))


class BatchJobQueueSensor(_BatchResourceSensor):
    """Wait until a job queue is VALID (failing if INVALID) or, if asked, DELETED.

    :param job_queue: name or ARN.
    :param target_status: ``"VALID"`` (default) or ``"DELETED"``.
    :param deferrable: wait in the triggerer, polling every ``poke_interval`` seconds.
    """

    kind = JOB_QUEUE
    trigger_class = BatchJobQueueTrigger
    operator_extra_links = (BatchJobQueueLink(),)

    def __init__(self, *, job_queue: str, **kwargs: Any) -> None:
        super().__init__(name=job_queue, **kwargs)

    def _persist_link(self, context: Context, current: dict[str, Any]) -> None:
        arn = str(current.get("jobQueueArn") or self.name)
        BatchJobQueueLink.persist(context, link_target(self.hook).job_queue(arn))

"""Operators that ensure and tear down compute environments, job queues and scheduling policies.

*Ensure* creates what is absent, updates in place what AWS can update, writes nothing when the
resource already matches its spec, and refuses (before any write) a difference only a
replacement could apply. *Delete* disables, waits, deletes and waits; deleting what is already
gone succeeds. The logic lives in :mod:`airflow_batch_plugin.resources`.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.amazon.aws.operators.base_aws import AwsBaseOperator
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import AirflowSkipException, conf

from airflow_batch_plugin.hooks.batch_resources import BatchResourceHook
from airflow_batch_plugin.links import BatchComputeEnvironmentLink, BatchJobQueueLink, BatchLink, link_target
from airflow_batch_plugin.resources import (
    COMPUTE_ENVIRONMENT,
    JOB_QUEUE,
    SCHEDULING_POLICY,
    ActiveJobsPolicy,
    BatchResourceInvalid,
    ResourceKind,
    Waiting,
    delete_resource,
    ensure_resource,
)
from airflow_batch_plugin.specs.compute_environment import ComputeEnvironmentSpec
from airflow_batch_plugin.specs.job_queue import JobQueueSpec
from airflow_batch_plugin.specs.scheduling_policy import SchedulingPolicySpec
from airflow_batch_plugin.templating import render_spec
from airflow_batch_plugin.triggers.resources import BatchComputeEnvironmentTrigger, BatchJobQueueTrigger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_batch_plugin.environment import BatchEnvironment


class _EnsureBatchResourceOperator(AwsBaseOperator[BatchResourceHook]):
    """Bring one resource to its spec; return its ARN (see the module docstring)."""

    aws_hook_class = BatchResourceHook
    template_fields: Sequence[str] = aws_template_fields()
    ui_color = "#d5e8d4"
    kind: ClassVar[ResourceKind]
    spec_type: ClassVar[type]
    #: The extra link to the resource, if it has a page (scheduling policies have none).
    link: ClassVar[type[BatchLink] | None] = None

    def __init__(
        self,
        *,
        spec: Any,
        wait_for_valid: bool = True,
        poll_interval: float = 10.0,
        timeout: float = 1800.0,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(spec, self.spec_type):
            raise TypeError(f"spec must be a {self.spec_type.__name__}, got {type(spec).__name__}")
        if poll_interval <= 0:
            raise ValueError(f"poll_interval={poll_interval!r}: must be a positive number of seconds")
        self.spec = spec
        self.waiting = Waiting(for_valid=wait_for_valid, interval=poll_interval, timeout=timeout)
        self.deferrable = deferrable

    def execute(self, context: Context) -> str:
        spec = render_spec(self.spec, lambda value: self.render_template(value, context))
        waiting = self.waiting
        if self.deferrable:
            waiting = dataclasses.replace(waiting, defer=self._defer_until_valid)
        arn = ensure_resource(self.hook, self.kind, spec, waiting, self.log)
        self._persist_link(context, arn)
        return arn

    def _persist_link(self, context: Context, name_or_arn: str) -> None:
        if self.link is None:
            return
        target = link_target(self.hook)
        url = (
            target.compute_environment(name_or_arn)
            if self.link is BatchComputeEnvironmentLink
            else target.job_queue(name_or_arn)
        )
        self.link.persist(context, url)

    def trigger(self, name: str) -> BaseTrigger:
        """Return the trigger that waits for the resource ``name`` to be VALID."""
        raise TypeError(f"{type(self).__name__} cannot defer")

    def _defer_until_valid(self, name: str) -> None:
        self.log.info("Waiting for %s %s to be VALID in the triggerer", self.kind.label, name)
        self.defer(
            trigger=self.trigger(name),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.waiting.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> str:
        """Resume once the resource is VALID: ensure again, which finds little or nothing left to do."""
        if event.get("status") != "success":
            status, reason = event.get("resource_status"), event.get("reason")
            raise BatchResourceInvalid(f"{self.kind.label} {event.get('name')} is {status}: {reason}")
        return self.execute(context)


class BatchEnsureComputeEnvironmentOperator(_EnsureBatchResourceOperator):
    """Ensure a compute environment matches a :class:`ComputeEnvironmentSpec`; wait until VALID.

    :param spec: the compute environment (managed EC2 or Spot, Fargate, Fargate Spot, EKS, unmanaged).
    :param wait_for_valid: wait until AWS reports it VALID (fail if INVALID, with its reason).
    :param poll_interval: seconds between DescribeComputeEnvironments calls while waiting.
    :param timeout: seconds to wait at most.
    :param deferrable: wait for VALID in the triggerer (:class:`BatchComputeEnvironmentTrigger`)
        instead of on a worker; default: the ``[operators] default_deferrable`` option.
    :return: the compute environment's ARN.
    """

    kind = COMPUTE_ENVIRONMENT
    spec_type = ComputeEnvironmentSpec
    link = BatchComputeEnvironmentLink
    operator_extra_links = (BatchComputeEnvironmentLink(),)

    def trigger(self, name: str) -> BaseTrigger:
        return BatchComputeEnvironmentTrigger(
            compute_environment=name,
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            poll_interval=self.waiting.interval,
        )


class BatchEnsureJobQueueOperator(_EnsureBatchResourceOperator):
    """Ensure a job queue matches a :class:`JobQueueSpec`; wait until VALID.

    :param spec: the job queue (priority, state, compute environment order, scheduling policy,
        job state time limit actions, tags).
    :param deferrable: wait for VALID in the triggerer (:class:`BatchJobQueueTrigger`).
    :return: the job queue's ARN.
    """

    kind = JOB_QUEUE
    spec_type = JobQueueSpec
    link = BatchJobQueueLink
    operator_extra_links = (BatchJobQueueLink(),)

    def trigger(self, name: str) -> BaseTrigger:
        return BatchJobQueueTrigger(
            job_queue=name,
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name,
            poll_interval=self.waiting.interval,
        )


class BatchEnsureSchedulingPolicyOperator(_EnsureBatchResourceOperator):
    """Ensure a fair-share scheduling policy matches a :class:`SchedulingPolicySpec`.

    :return: the scheduling policy's ARN.
    """

    kind = SCHEDULING_POLICY
    spec_type = SchedulingPolicySpec


class _DeleteBatchResourceOperator(AwsBaseOperator[BatchResourceHook]):
    """Disable, wait, delete, wait; succeed when the resource is already gone."""

    aws_hook_class = BatchResourceHook
    ui_color = "#f8cecc"
    kind: ClassVar[ResourceKind]

    def __init__(
        self, *, name: str, poll_interval: float = 10.0, timeout: float = 1800.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if poll_interval <= 0:
            raise ValueError(f"poll_interval={poll_interval!r}: must be a positive number of seconds")
        self.name = name
        self.waiting = Waiting(interval=poll_interval, timeout=timeout)

    def execute(self, context: Context) -> bool:
        return delete_resource(self.hook, self.kind, self.name, self.waiting, self.log)


class BatchDeleteJobQueueOperator(_DeleteBatchResourceOperator):
    """Delete a job queue; refuse while it has unfinished jobs unless told to stop them.

    :param job_queue: name or ARN.
    :param active_jobs: ``"refuse"`` (default), ``"cancel"`` or ``"terminate"`` its unfinished jobs.
    :return: False when the queue was already gone.
    """

    kind = JOB_QUEUE
    template_fields: Sequence[str] = (*aws_template_fields(), "name")

    def __init__(self, *, job_queue: str, active_jobs: ActiveJobsPolicy = "refuse", **kwargs: Any) -> None:
        super().__init__(name=job_queue, **kwargs)
        if active_jobs not in ("refuse", "cancel", "terminate"):
            raise ValueError(f"active_jobs={active_jobs!r}: must be 'refuse', 'cancel' or 'terminate'")
        self.active_jobs: ActiveJobsPolicy = active_jobs

    def execute(self, context: Context) -> bool:
        return delete_resource(self.hook, self.kind, self.name, self.waiting, self.log, self.active_jobs)


class BatchDeleteComputeEnvironmentOperator(_DeleteBatchResourceOperator):
    """Delete a compute environment; refuse while a job queue still uses it (naming the queues).

    :param compute_environment: name or ARN.
    :return: False when it was already gone.
    """

    kind = COMPUTE_ENVIRONMENT
    template_fields: Sequence[str] = (*aws_template_fields(), "name")

    def __init__(self, *, compute_environment: str, **kwargs: Any) -> None:
        super().__init__(name=compute_environment, **kwargs)


class BatchDeleteSchedulingPolicyOperator(_DeleteBatchResourceOperator):
    """Delete a scheduling policy; refuse while a job queue still uses it.

    :param scheduling_policy: name or ARN.
    :return: False when it was already gone.
    """

    kind = SCHEDULING_POLICY
    template_fields: Sequence[str] = (*aws_template_fields(), "name")

    def __init__(self, *, scheduling_policy: str, **kwargs: Any) -> None:
        super().__init__(name=scheduling_policy, **kwargs)


class BatchEnsureEnvironmentOperator(AwsBaseOperator[BatchResourceHook]):
    """Ensure every resource of a :class:`BatchEnvironment` (policies, compute environments, queues).

    :param environment: what to ensure.
    :return: the ARNs by resource name.
    """

    aws_hook_class = BatchResourceHook
    template_fields: Sequence[str] = aws_template_fields()
    ui_color = "#d5e8d4"

    def __init__(
        self,
        *,
        environment: BatchEnvironment,
        poll_interval: float = 10.0,
        timeout: float = 1800.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.environment = environment
        self.waiting = Waiting(interval=poll_interval, timeout=timeout)

    def execute(self, context: Context) -> dict[str, str]:
        environment = self.environment.render(lambda value: self.render_template(value, context))
        return environment.ensure(self.hook, self.waiting, self.log)


class BatchTeardownEnvironmentOperator(AwsBaseOperator[BatchResourceHook]):
    """Delete every resource of a :class:`BatchEnvironment`: queues, compute environments, policies.

    :param environment: what to delete.
    :param active_jobs: what to do with unfinished jobs in its queues (default ``"terminate"``).
    :param keep: skip the teardown (templated, e.g. ``"{{ params.keep_environment }}"``), to keep
        the environment between runs.
    :return: the names deleted (already gone ones are left out).
    """

    aws_hook_class = BatchResourceHook
    template_fields: Sequence[str] = (*aws_template_fields(), "keep")
    ui_color = "#f8cecc"

    def __init__(
        self,
        *,
        environment: BatchEnvironment,
        active_jobs: ActiveJobsPolicy = "terminate",
        keep: bool | str = False,
        poll_interval: float = 10.0,
        timeout: float = 1800.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.environment = environment
        self.active_jobs: ActiveJobsPolicy = active_jobs
        self.keep = keep
        self.waiting = Waiting(interval=poll_interval, timeout=timeout)

    def execute(self, context: Context) -> list[str]:
        if str(self.keep).strip().lower() in ("true", "1", "yes"):
            raise AirflowSkipException("keep is set: the environment stays")
        environment = self.environment.render(lambda value: self.render_template(value, context))
        return environment.teardown(self.hook, self.waiting, self.log, self.active_jobs)

"""What every task that waits for one Batch job shares: its monitor, and its resume after deferral.

:class:`~airflow_batch_plugin.operators.submit_job.BatchSubmitJobOperator` and
:class:`~airflow_batch_plugin.sensors.job.BatchJobSensor` both build their
:class:`~airflow_batch_plugin.monitor.JobMonitor` with :func:`task_monitor` and both read the
trigger's event with :func:`resume_from_trigger`; what each does with the answer (terminate the
job it started, store links, defer again) stays theirs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from airflow.providers.common.compat.sdk import AirflowException

from airflow_batch_plugin.hooks.logs import CloudWatchLogsHook
from airflow_batch_plugin.job_state import is_terminal
from airflow_batch_plugin.monitor import JobMonitor

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from airflow_batch_plugin.anatomy import EksLogConvention
    from airflow_batch_plugin.hooks.batch import BatchHook


class WaitingTask(Protocol):
    """The arguments of a task that waits for a Batch job and reports it (operator or sensor)."""

    aws_conn_id: str | None
    region_name: str | None
    log_tail_lines: int
    failed_children_logs: int
    array_children_logs: int | str
    max_runnable_seconds: float | None
    eks_logs: EksLogConvention

    @property
    def hook(self) -> BatchHook: ...

    @property
    def log(self) -> Any: ...


def task_monitor(task: WaitingTask, job_id: str, *, stream_logs: bool) -> JobMonitor:
    """Return the monitor that reports ``job_id`` into ``task``'s log, with the task's settings."""
    return JobMonitor(
        batch=task.hook,
        logs=CloudWatchLogsHook(aws_conn_id=task.aws_conn_id, region_name=task.region_name),
        job_id=job_id,
        log=task.log,
        stream_logs=stream_logs,
        tail_lines=task.log_tail_lines,
        failed_children=task.failed_children_logs,
        array_children_logs=task.array_children_logs,
        max_runnable_seconds=task.max_runnable_seconds,
        eks_logs=task.eks_logs,
    )


def resume_from_trigger(
    hook: BatchHook,
    event: Mapping[str, Any],
    monitor: JobMonitor,
    *,
    on_read: Callable[[dict[str, Any]], None] = lambda _: None,
) -> dict[str, Any] | None:
    """Read the job a :class:`~airflow_batch_plugin.triggers.job.BatchJobTrigger` event names.

    :param hook: the task's hook (one DescribeJobs).
    :param event: the trigger's event.
    :param monitor: the task's monitor of the job (it sees the ended job's description).
    :param on_read: called with the fresh description (e.g. to store links), before any verdict.
    :return: the ended job's description, or None when it has not ended (not expected: the
        trigger saw it end; the caller waits again rather than guess).
    :raises AirflowException: the trigger could not follow the job.
    :raises BatchJobFailed: the job can never start (the event says ``stuck``).
    """
    job_id = str(event["job_id"])
    if event.get("status") == "error":
        raise AirflowException(f"Could not follow AWS Batch job {job_id}: {event.get('message')}")
    job = hook.describe_job(job_id)
    on_read(job)
    if event.get("status") == "stuck":
        raise monitor.cannot_start(job, str(event.get("reason")))
    if not is_terminal(job):
        return None
    monitor.observe(job)
    return job

"""BatchJobSensor: wait for an AWS Batch job submitted elsewhere (e.g. without waiting)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.sensors.base_aws import AwsBaseSensor
from airflow.providers.amazon.aws.utils.mixins import aws_template_fields
from airflow.providers.common.compat.sdk import conf

from airflow_batch_plugin.hooks.batch import BatchHook
from airflow_batch_plugin.job_state import is_terminal
from airflow_batch_plugin.links import JOB_LINKS, JobLinkKeeper
from airflow_batch_plugin.monitor import JobMonitor, eks_log_convention
from airflow_batch_plugin.poller import JobStatusPoller
from airflow_batch_plugin.task_wait import resume_from_trigger, task_monitor
from airflow_batch_plugin.triggers.job import BatchJobTrigger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context


class BatchJobSensor(AwsBaseSensor[BatchHook]):
    """Wait until an AWS Batch job ends: succeed on SUCCEEDED, fail on FAILED with its reason.

    In ``poke`` mode the log is streamed into the task log as the job runs; in ``reschedule``
    mode each poke is a new process, so the log is read once, when the job ends. With
    ``deferrable=True`` it waits in the triggerer (:class:`BatchJobTrigger`) and reads the whole
    log when it resumes; killing the deferred sensor leaves the job alone (it did not start it).

    :param job_id: the job to wait for (templated; e.g. ``submit_task.output``).
    :param stream_logs: copy the job's log into the task log.
    :param log_tail_lines: how many last log lines a failure message carries.
    :param failed_children_logs: for array jobs, how many failed children's logs to show.
    :param array_children_logs: for array jobs, how many children's logs to show when the job
        ends, lowest indexes first, besides the failed ones (``"all"``: every child; 0: none).
    :param eks_log_group: where EKS jobs' container logs are (see BatchSubmitJobOperator).
    :param eks_log_stream_prefix: what an EKS container's log streams start with (likewise).
    :param max_runnable_seconds: fail if the job stays RUNNABLE this long (poke and deferrable modes).
    :param deferrable: wait in the triggerer, polling every ``poke_interval`` seconds (default:
        the ``[operators] default_deferrable`` option); ``timeout`` bounds the deferral.
    """

    aws_hook_class = BatchHook
    template_fields: Sequence[str] = (*aws_template_fields(), "job_id")
    ui_color = "#ffd08a"
    operator_extra_links = JOB_LINKS

    def __init__(
        self,
        *,
        job_id: str,
        stream_logs: bool = True,
        log_tail_lines: int = 50,
        failed_children_logs: int = 3,
        array_children_logs: int | str = 3,
        eks_log_group: str | None = None,
        eks_log_stream_prefix: str | None = None,
        max_runnable_seconds: float | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.stream_logs = stream_logs
        self.log_tail_lines = log_tail_lines
        self.failed_children_logs = failed_children_logs
        self.array_children_logs = array_children_logs
        self.eks_log_group = eks_log_group
        self.eks_log_stream_prefix = eks_log_stream_prefix
        self.eks_logs = eks_log_convention(eks_log_group, eks_log_stream_prefix)
        self.max_runnable_seconds = max_runnable_seconds
        self.deferrable = deferrable
        self._monitor: JobMonitor | None = None
        self._poller: JobStatusPoller | None = None
        self._links = JobLinkKeeper(self.log)

    def execute(self, context: Context) -> Any:
        """Poke until the job ends, or (deferrable) look once and then wait in the triggerer."""
        if not self.deferrable:
            return super().execute(context)
        job = self.hook.describe_jobs([str(self.job_id)]).get(str(self.job_id))
        if job is not None:
            self._links.keep(context, self.hook, job)
        if job is not None and is_terminal(job):
            self._finish(job)
            return None
        self._defer()

    def _defer(self) -> None:
        self.defer(
            trigger=BatchJobTrigger(
                job_id=str(self.job_id),
                aws_conn_id=self.aws_conn_id,
                region_name=self.region_name,
                poll_interval=max(float(self.poke_interval), 0.001),
                max_runnable_seconds=self.max_runnable_seconds,
                terminate_on_kill=False,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=float(self.timeout)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> None:
        """Resume after the trigger fired: read the whole log and succeed or fail like the job."""
        monitor = task_monitor(self, str(event["job_id"]), stream_logs=False)
        job = resume_from_trigger(
            self.hook, event, monitor, on_read=lambda job: self._links.keep(context, self.hook, job)
        )
        if job is None:
            self._defer()
        else:
            monitor.finish(job)

    def _finish(self, job: dict[str, Any]) -> None:
        monitor = task_monitor(self, str(self.job_id), stream_logs=False)
        monitor.observe(job)
        monitor.finish(job)

    def poke(self, context: Context) -> bool:
        monitor, poller = self._tools()
        job = poller.poll([self.job_id]).get(self.job_id)
        if job is None:
            self.log.info("AWS Batch job %s not visible yet", self.job_id)
            return False
        self._links.keep(context, self.hook, job)
        if not is_terminal(job):
            monitor.observe(job)
            return False
        monitor.finish(job)
        return True

    def _tools(self) -> tuple[JobMonitor, JobStatusPoller]:
        if self._monitor is None or self._poller is None:
            self._monitor = task_monitor(
                self, str(self.job_id), stream_logs=self.stream_logs and self.mode == "poke"
            )
            self._poller = JobStatusPoller(self.hook, interval=max(float(self.poke_interval), 0.001))
        return self._monitor, self._poller
